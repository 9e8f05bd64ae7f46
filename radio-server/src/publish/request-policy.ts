import { abortableSleep, deadlineSignal } from '../shared/abort.js';

/** How storage requests are timed out and retried: every number of the policy in one place. */
export interface StorageRequestPolicy {
  /** Attempts after the first one, for errors worth retrying. */
  maxRetries: number;
  /** Delay before the first retry; doubles for each further one, up to `backoffMaxMs`, with jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** TCP connect (and TLS) at most this long. */
  connectionTimeoutMs: number;
  /**
   * No byte moving either way on the connection for this long: the endpoint is not answering (a black hole,
   * a hung server, a dead NAT mapping). A slow uplink still moves bytes, so this can be short.
   */
  idleTimeoutMs: number;
  /** One attempt, request and response bodies included, at most this long. */
  attemptTimeoutMs: number;
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/**
 * The daemon's policy for segments of `segmentSeconds`, sized so that a segment is never held longer than
 * its own length by one stuck attempt: an upload slower than the segment can never keep up anyway, and a
 * silent endpoint is noticed after a third of a segment (at least 1.5 s) of no bytes moving, so that after
 * an outage publishing resumes within one segment of the endpoint answering. At 10 s segments: connect
 * 2.5 s, idle 3 s, attempt 10 s, retries after 0.5, 1 and 2 s.
 */
export function storageRequestPolicy(segmentSeconds: number): StorageRequestPolicy {
  const segmentMs = segmentSeconds * 1000;
  return {
    maxRetries: 3,
    backoffBaseMs: clamp(segmentMs / 20, 50, 500),
    backoffMaxMs: clamp(segmentMs / 4, 200, 4000),
    connectionTimeoutMs: clamp(segmentMs / 4, 1000, 5000),
    idleTimeoutMs: clamp(segmentMs * 0.3, 1500, 10_000),
    attemptTimeoutMs: clamp(segmentMs, 3000, 30_000),
  };
}

/** The policy of 10 s segments (the station's default). */
export const STORAGE_REQUEST_POLICY: StorageRequestPolicy = storageRequestPolicy(10);

/** The preflight's policy (`radio-server check`): one retry, so that a failing check answers in seconds. */
export const CHECK_REQUEST_POLICY: StorageRequestPolicy = { ...STORAGE_REQUEST_POLICY, maxRetries: 1, idleTimeoutMs: 10_000, attemptTimeoutMs: 15_000 };

/** The delay before retry number `retry` (1-based): exponential, capped, with "equal jitter" so parallel requests spread out. */
export function backoffDelayMs(policy: StorageRequestPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

export interface RetryHooks {
  shouldRetry: (error: unknown) => boolean;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
  random?: () => number;
  /** Ends the attempt in flight and the retry wait at once (shutdown); the last error is thrown. */
  signal?: AbortSignal;
  /** Names what timed out, in the deadline's error. */
  what?: string;
}

/**
 * Runs `attempt`, retrying it per `policy` while `shouldRetry` says so; throws the last error. Each
 * attempt gets a signal that aborts at `attemptTimeoutMs` or when `hooks.signal` does.
 */
export async function withRetries<T>(attempt: (signal: AbortSignal) => Promise<T>, policy: StorageRequestPolicy, hooks: RetryHooks): Promise<T> {
  for (let retry = 0; ; retry++) {
    const deadline = deadlineSignal(hooks.signal, policy.attemptTimeoutMs, hooks.what);
    try {
      return await attempt(deadline.signal);
    } catch (error) {
      if (hooks.signal?.aborted || retry >= policy.maxRetries || !hooks.shouldRetry(error)) throw error;
      const delayMs = backoffDelayMs(policy, retry + 1, hooks.random);
      hooks.onRetry?.(error, retry + 1, delayMs);
      await abortableSleep(delayMs, hooks.signal);
      if (hooks.signal?.aborted) throw error;
    } finally {
      deadline.dispose();
    }
  }
}
