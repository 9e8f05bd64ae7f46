import { describe, expect, it, vi } from 'vitest';
import { backoffDelayMs, STORAGE_REQUEST_POLICY, storageRequestPolicy, withRetries, type StorageRequestPolicy } from './request-policy.js';

const fast: StorageRequestPolicy = { ...STORAGE_REQUEST_POLICY, backoffBaseMs: 1, backoffMaxMs: 4 };

describe(backoffDelayMs.name, () => {
  it('doubles from the base up to the cap, jittered between half and all of it', () => {
    const low = [1, 2, 3, 4, 5].map((retry) => backoffDelayMs(STORAGE_REQUEST_POLICY, retry, () => 0));
    const high = [1, 2, 3, 4, 5].map((retry) => backoffDelayMs(STORAGE_REQUEST_POLICY, retry, () => 1));
    expect(high).toEqual([500, 1000, 2000, 2500, 2500]);
    expect(low).toEqual([250, 500, 1000, 1250, 1250]);
  });
});

describe(storageRequestPolicy.name, () => {
  it('sizes every timeout to the segment: one stuck attempt never holds a segment longer than its length', () => {
    expect(storageRequestPolicy(10)).toEqual({ maxRetries: 3, backoffBaseMs: 500, backoffMaxMs: 2500, connectionTimeoutMs: 2500, idleTimeoutMs: 3000, attemptTimeoutMs: 10_000 });
    for (const seconds of [1, 2, 4, 10, 60]) {
      const policy = storageRequestPolicy(seconds);
      // A silent endpoint is noticed (idle), then one backoff: within a segment for 4 s and longer.
      if (seconds >= 4) expect(policy.idleTimeoutMs + policy.backoffMaxMs).toBeLessThan(seconds * 1000);
      expect(policy.attemptTimeoutMs).toBeLessThanOrEqual(Math.max(3000, seconds * 1000));
    }
  });
});

describe(withRetries.name, () => {
  it('makes up to maxRetries more attempts, then throws the last error', async () => {
    let attempts = 0;
    const retries: number[] = [];
    const failing = () => Promise.reject(new Error(`attempt ${++attempts}`));
    await expect(withRetries(failing, fast, { shouldRetry: () => true, onRetry: (_, retry) => retries.push(retry) })).rejects.toThrow('attempt 4');
    expect(attempts).toBe(1 + STORAGE_REQUEST_POLICY.maxRetries);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('stops at once on an error not worth retrying', async () => {
    let attempts = 0;
    const failing = () => Promise.reject(new Error(`attempt ${++attempts}`));
    await expect(withRetries(failing, fast, { shouldRetry: () => false })).rejects.toThrow('attempt 1');
    expect(attempts).toBe(1);
  });

  it('returns the first success', async () => {
    let attempts = 0;
    const flaky = async () => (++attempts < 3 ? Promise.reject(new Error('not yet')) : 'stored');
    await expect(withRetries(flaky, fast, { shouldRetry: () => true })).resolves.toBe('stored');
    expect(attempts).toBe(3);
  });

  it('gives each attempt a deadline: a silent attempt is ended and retried', async () => {
    vi.useFakeTimers();
    try {
      let attempts = 0;
      const silent = (signal: AbortSignal) => new Promise<string>((resolve, reject) => {
        if (++attempts === 3) return resolve('stored');
        signal.addEventListener('abort', () => reject(signal.reason));
      });
      const result = withRetries(silent, { ...fast, attemptTimeoutMs: 1000 }, { shouldRetry: () => true, random: () => 1, what: 'PUT x' });
      await vi.advanceTimersByTimeAsync(999);
      expect(attempts).toBe(1);
      await vi.advanceTimersByTimeAsync(1 + 1);
      expect(attempts).toBe(2);
      await vi.advanceTimersByTimeAsync(1000 + 2);
      await expect(result).resolves.toBe('stored');
    } finally {
      vi.useRealTimers();
    }
  });

  it('a shutdown signal ends the attempt in flight and the retry wait at once, without another attempt', async () => {
    vi.useFakeTimers();
    try {
      const shutdown = new AbortController();
      let attempts = 0;
      const failingSlowly = (signal: AbortSignal) => new Promise<string>((_, reject) => {
        attempts++;
        signal.addEventListener('abort', () => reject(new Error(`attempt ${attempts} aborted`)));
      });
      const result = withRetries(failingSlowly, { ...fast, attemptTimeoutMs: 60_000 }, { shouldRetry: () => true, signal: shutdown.signal });
      const settled = expect(result).rejects.toThrow('attempt 1 aborted');
      await vi.advanceTimersByTimeAsync(10);
      shutdown.abort();
      await settled;
      expect(attempts).toBe(1);
      expect(vi.getTimerCount()).toBe(0); // no deadline timer left behind
    } finally {
      vi.useRealTimers();
    }
  });
});
