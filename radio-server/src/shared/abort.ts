/** The error a shutdown's AbortSignal carries as its reason, when none is given. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : Object.assign(new Error('aborted'), { name: 'AbortError' });
}

/**
 * Waits `ms`, or less if `signal` aborts (then it resolves too: the caller looks at `signal.aborted`).
 * The abort listener goes when the timer fires: one left behind per wait would be a leak.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => (clearTimeout(timer), resolve());
    const timer = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A signal that aborts when `parent` does or after `ms`, and `dispose` to drop its timer and its listener on the parent. */
export interface DeadlineSignal {
  signal: AbortSignal;
  dispose(): void;
}

/**
 * `parent` plus a deadline, for one attempt of a request. Unlike `AbortSignal.any`, it holds nothing on a
 * long-lived parent once disposed (Node 20's `any` keeps its dependants until the parent is collected).
 */
export function deadlineSignal(parent: AbortSignal | undefined, ms: number, what = 'the request'): DeadlineSignal {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent!.reason);
  const timer = setTimeout(() => controller.abort(Object.assign(new Error(`${what} got no answer within ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' })), ms);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}
