import { spans, type MediaSpan } from './live-edge.ts';

/** The part of a SourceBuffer the player uses (tests pass fakes). */
export interface SourceBufferLike extends EventTarget {
  readonly updating: boolean;
  readonly buffered: TimeRanges;
  appendWindowStart: number;
  appendWindowEnd: number;
  appendBuffer(data: ArrayBuffer): void;
  remove(start: number, end: number): void;
  changeType?(type: string): void;
}

/** The part of a MediaSource (or ManagedMediaSource) the player uses. */
export interface MediaSourceLike extends EventTarget {
  readonly readyState: 'closed' | 'ended' | 'open';
  addSourceBuffer(type: string): SourceBufferLike;
}

/** One segment to append: the run's init (appended when it is not the one in the buffer) and the fragment. */
export interface AppendRequest {
  /** MIME type of the stream, as `addSourceBuffer` takes it. */
  type: string;
  /** Identifies the init (its URL): the same one is not appended twice in a row. */
  initId: string;
  init: ArrayBuffer;
  fragment: ArrayBuffer;
  /** Only frames inside it enter the buffer: the segment's exact samples. */
  window: MediaSpan;
}

/**
 * The browser refused appended bytes: `fatal`, it signalled an error (a parse or decode error) and the
 * MediaSource is unusable after it; not fatal, it took them without a word but buffered nothing of
 * the segment (Firefox does that with a `moof` it cannot read), and the buffer goes on.
 */
export class MediaAppendError extends Error {
  override name = 'MediaAppendError';
  constructor(message: string, readonly fatal = true) {
    super(message);
  }
}

/** A segment counts as buffered when at least this fraction of its window is. */
const MIN_BUFFERED_FRACTION = 0.5;

/**
 * One MediaSource with one SourceBuffer: segments of either stream are appended to it in order (the
 * init before the first fragment of each run, `changeType` for the other stream), each inside an
 * append window of its exact samples. Operations run one after another.
 */
export class MediaBuffer {
  readonly #source: MediaSourceLike;
  #buffer: SourceBufferLike | undefined;
  #type: string | undefined;
  #initId: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(source: MediaSourceLike) {
    this.#source = source;
  }

  /** Waits until `source`, attached to an element by `attach`, opens. */
  static async open(source: MediaSourceLike, attach: () => void, signal: AbortSignal): Promise<MediaBuffer> {
    if (source.readyState !== 'open') {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        source.addEventListener('sourceopen', () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, { once: true });
        signal.addEventListener('abort', onAbort, { once: true });
        attach();
      });
    }
    return new MediaBuffer(source);
  }

  /** True when a segment of `type` can go into this buffer: the same type, or one `changeType` switches to. */
  accepts(type: string): boolean {
    return !this.#buffer || type === this.#type || typeof this.#buffer.changeType === 'function';
  }

  /** The MIME type of what was appended last. */
  get type(): string | undefined {
    return this.#type;
  }

  /** What is buffered, in media seconds. */
  get buffered(): MediaSpan[] {
    return this.#buffer ? spans(this.#buffer.buffered) : [];
  }

  /** Appends one segment (and its init when needed); rejects with {@link MediaAppendError} when the browser refuses it. */
  append(request: AppendRequest): Promise<void> {
    return this.#enqueue(async () => {
      const buffer = this.#bufferFor(request.type);
      if (request.initId !== this.#initId) {
        // An init whose run ended has nothing of the new run to filter.
        buffer.appendWindowEnd = Infinity;
        buffer.appendWindowStart = 0;
        this.#initId = undefined;
        await update(buffer, () => buffer.appendBuffer(request.init));
        this.#initId = request.initId;
      }
      // End first: the start may never be set past the current end.
      buffer.appendWindowEnd = Infinity;
      buffer.appendWindowStart = request.window.start;
      buffer.appendWindowEnd = request.window.end;
      await update(buffer, () => buffer.appendBuffer(request.fragment));
      const { start, end } = request.window;
      const overlap = this.buffered.reduce((sum, r) => sum + Math.max(0, Math.min(end, r.end) - Math.max(start, r.start)), 0);
      if (overlap < MIN_BUFFERED_FRACTION * (end - start)) throw new MediaAppendError('the browser found no audio in it', false);
    });
  }

  /** Frees what lies before `position` (already played), so memory stays flat however long one listens. */
  removeBefore(position: number): Promise<void> {
    return this.#enqueue(async () => {
      const first = this.buffered[0];
      if (!this.#buffer || !first || first.start >= position) return;
      const buffer = this.#buffer;
      await update(buffer, () => buffer.remove(0, position));
    });
  }

  #bufferFor(type: string): SourceBufferLike {
    if (!this.#buffer) {
      this.#buffer = this.#source.addSourceBuffer(type);
    } else if (type !== this.#type) {
      if (!this.#buffer.changeType) throw new Error(`this browser cannot switch a SourceBuffer to ${type}`);
      this.#buffer.changeType(type);
      // The other stream's init comes next, whatever run it belongs to.
      this.#initId = undefined;
    }
    this.#type = type;
    return this.#buffer;
  }

  #enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

/** A SourceBuffer operation that has not ended after this long never will (the MediaSource is given up). */
export const UPDATE_TIMEOUT_MS = 10_000;

/** Runs one SourceBuffer operation and waits for its updateend; an `error` event, a throw or no end in time rejects. */
function update(buffer: SourceBufferLike, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const onError = () => (failed = true);
    const done = () => {
      clearTimeout(timer);
      buffer.removeEventListener('error', onError);
      buffer.removeEventListener('updateend', onEnd);
    };
    const onEnd = () => {
      done();
      if (failed) reject(new MediaAppendError('the browser could not read the appended media'));
      else resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new MediaAppendError(`the browser did not finish appending within ${UPDATE_TIMEOUT_MS / 1000} s`));
    }, UPDATE_TIMEOUT_MS);
    buffer.addEventListener('error', onError, { once: true });
    buffer.addEventListener('updateend', onEnd, { once: true });
    try {
      start();
    } catch (error) {
      done();
      reject(error instanceof DOMException ? new MediaAppendError(`${error.name}: ${error.message}`) : error);
    }
  });
}
