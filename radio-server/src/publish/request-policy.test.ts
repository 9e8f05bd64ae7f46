import { describe, expect, it } from 'vitest';
import { backoffDelayMs, STORAGE_REQUEST_POLICY, withRetries, type StorageRequestPolicy } from './request-policy.js';

const fast: StorageRequestPolicy = { ...STORAGE_REQUEST_POLICY, backoffBaseMs: 1, backoffMaxMs: 4 };

describe(backoffDelayMs.name, () => {
  it('doubles from the base up to the cap, jittered between half and all of it', () => {
    const low = [1, 2, 3, 4, 5].map((retry) => backoffDelayMs(STORAGE_REQUEST_POLICY, retry, () => 0));
    const high = [1, 2, 3, 4, 5].map((retry) => backoffDelayMs(STORAGE_REQUEST_POLICY, retry, () => 1));
    expect(high).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(low).toEqual([250, 500, 1000, 2000, 2000]);
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
});
