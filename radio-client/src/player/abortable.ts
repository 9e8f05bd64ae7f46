/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A signal for one request: aborts with `parent`, or on its own after `ms`; call `dispose` when done. */
export interface TimedSignal {
  signal: AbortSignal;
  /** True once the timeout (not the parent) aborted it. */
  readonly timedOut: boolean;
  dispose(): void;
}

/**
 * Written out rather than AbortSignal.any + AbortSignal.timeout: Node holds those weakly, and a
 * timeout signal collected before it fires never aborts the request.
 */
export function withTimeout(parent: AbortSignal, ms: number): TimedSignal {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}
