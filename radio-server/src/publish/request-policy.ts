import { setTimeout as sleep } from 'node:timers/promises';

/** How storage requests are timed out and retried: every number of the policy in one place. */
export interface StorageRequestPolicy {
  /** Attempts after the first one, for errors worth retrying. */
  maxRetries: number;
  /** Delay before the first retry; doubles for each further one, up to `backoffMaxMs`, with jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  connectionTimeoutMs: number;
  /** Whole request: a 10 s FLAC segment is about 2 MB, so this leaves room for a slow uplink. */
  requestTimeoutMs: number;
}

/** The daemon's policy: three retries within about 3.5 s keep a failing segment within one 10 s segment period. */
export const STORAGE_REQUEST_POLICY: StorageRequestPolicy = {
  maxRetries: 3,
  backoffBaseMs: 500,
  backoffMaxMs: 4000,
  connectionTimeoutMs: 5000,
  requestTimeoutMs: 30_000,
};

/** The preflight's policy (`radio-server check`): one retry, so that a failing check answers in seconds. */
export const CHECK_REQUEST_POLICY: StorageRequestPolicy = { ...STORAGE_REQUEST_POLICY, maxRetries: 1, requestTimeoutMs: 15_000 };

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
}

/** Runs `attempt`, retrying it per `policy` while `shouldRetry` says so; throws the last error. */
export async function withRetries<T>(attempt: () => Promise<T>, policy: StorageRequestPolicy, hooks: RetryHooks): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (error) {
      if (retry >= policy.maxRetries || !hooks.shouldRetry(error)) throw error;
      const delayMs = backoffDelayMs(policy, retry + 1, hooks.random);
      hooks.onRetry?.(error, retry + 1, delayMs);
      await sleep(delayMs);
    }
  }
}
