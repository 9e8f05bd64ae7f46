import { delay, withTimeout } from './abortable.ts';
import { httpProblem, problem, type PlayerProblem } from './player-problem.ts';

/** Retry numbers for segment downloads, kept as data (hls.js keeps its `fragLoadPolicy` the same way). */
export interface SegmentLoadPolicy {
  /** One attempt may take this long; a segment later than its own duration is of no use anyway. */
  timeoutMs: number;
  /** Further attempts after the first fails. */
  retries: number;
  /** Wait before the first retry, doubled before each next one. */
  retryDelayMs: number;
}

/** A downloaded segment, with how long the download took (for the throughput estimate). */
export interface LoadedSegment {
  bytes: ArrayBuffer;
  seconds: number;
}

/** A segment that could not be loaded after every retry; `problem` says why in one sentence. */
export class SegmentLoadError extends Error {
  constructor(readonly problem: PlayerProblem) {
    super(problem.message);
    this.name = 'SegmentLoadError';
  }
}

/** What {@link loadSegment} needs besides the URL; `fetch` and `now` are injectable for tests. */
export interface LoadOptions {
  policy: SegmentLoadPolicy;
  signal: AbortSignal;
  /** Names the segment in messages, e.g. "segment 1041 (lq)". */
  label: string;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * Downloads one segment with a timeout per attempt and retries with backoff. Aborting `signal`
 * rejects with the signal's reason at once; any other failure ends as a {@link SegmentLoadError}.
 */
export async function loadSegment(url: string, options: LoadOptions): Promise<LoadedSegment> {
  const { policy, signal } = options;
  for (let attempt = 0; ; attempt++) {
    const result = await loadOnce(url, options);
    if (!('kind' in result)) return result;
    if (attempt === policy.retries) throw new SegmentLoadError(result);
    await delay(policy.retryDelayMs * 2 ** attempt, signal);
  }
}

async function loadOnce(url: string, { policy, signal, label, fetch: fetchFn = fetch, now = () => performance.now() }: LoadOptions): Promise<LoadedSegment | PlayerProblem> {
  signal.throwIfAborted();
  const started = now();
  const attempt = withTimeout(signal, policy.timeoutMs);
  try {
    const response = await fetchFn(url, { signal: attempt.signal });
    if (!response.ok) return { ...httpProblem(label, response.status), kind: 'segment-missing' };
    const bytes = await response.arrayBuffer();
    return { bytes, seconds: (now() - started) / 1000 };
  } catch (error) {
    signal.throwIfAborted();
    if (attempt.timedOut) return problem('segment-missing', `The ${label} took longer than ${policy.timeoutMs / 1000} s to download.`);
    if (error instanceof TypeError) {
      return problem('segment-missing', `The ${label} could not be downloaded (the network failed, or the storage's CORS rule does not cover it).`);
    }
    throw error;
  } finally {
    attempt.dispose();
  }
}
