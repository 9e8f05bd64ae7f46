import type { PcmSource } from '../capture/pcm-source.js';
import type { PcmSamples } from '../segment/pcm.js';
import type { EncodedSegment, SegmentEncoder } from '../encode/segment-encoder.js';
import type { Logger } from '../ops/logger.js';
import { RateLimitedLog } from '../ops/rate-limited-log.js';
import { SampleClock } from '../segment/sample-clock.js';
import { Segmenter, type Segment } from '../segment/segmenter.js';
import { abortableSleep, deadlineSignal } from '../shared/abort.js';
import { ClassifiedError } from '../shared/classified-error.js';
import type { SegmentMeta } from '../shared/segment-meta.js';
import { BoundedQueue } from './bounded-queue.js';

/**
 * The publishing stage as the station uses it (publish/station-outlet.ts; publish/presentation-writer.ts
 * for `encode`). Its failures are retried, except a `fatal` ClassifiedError (trying again cannot help: a
 * full disk) from any method: then capture stops, the station does not sign off, and `run` rejects with it.
 */
export interface SegmentPublisher {
  /**
   * Gets ready to publish (the store's state, the clock offset, the station lock); resolves with the seq the
   * next unpublished segment must have: `floorSeq`, or later when the bucket already holds later seqs.
   * Rejects while the store cannot be used (unreachable, refused, another daemon on air): the station
   * tries again after a backoff, capture going on meanwhile.
   */
  connect(floorSeq: number, signal: AbortSignal): Promise<number>;
  publish(meta: SegmentMeta, encoded: readonly EncodedSegment[], signal: AbortSignal): Promise<unknown>;
  /** Signs off (`live: false`); only after a successful `connect`. */
  finish(signal: AbortSignal): Promise<void>;
}

/** Observers of the pipeline, for metrics and the archive; all optional. */
export interface StationHooks {
  /** Every captured block, before segmenting. */
  captured?(block: Int32Array): void;
  /** Capture has stopped (source ended or stop()); nothing more will be captured. */
  captureEnded?(): void;
  /** Awaited before each segment is published (the archive makes what was captured durable first); keep it bounded. */
  beforePublish?(meta: SegmentMeta): Promise<void>;
  encoded?(meta: SegmentMeta, encoded: readonly EncodedSegment[]): void;
  /** Connected: the next segment published is `seq`. */
  onAir?(seq: number): void;
  /** A connection attempt failed (the store unreachable, refusing, another daemon live); it is tried again. */
  connectFailed?(error: unknown): void;
  /** The publisher can no longer publish without connecting again (another daemon took over). */
  offAir?(error: unknown): void;
  published?(meta: SegmentMeta, seconds: number): void;
  uploadFailed?(meta: SegmentMeta, error: unknown): void;
  /** The upload queue's length changed. */
  queued?(segments: number): void;
}

export interface StationOptions {
  source: PcmSource;
  segmentSeconds: number;
  /**
   * The HQ and LQ encoders of a run whose first segment is `runSeq` (they write it into the fragments'
   * timeline); a segment is published once all have encoded it. Called again when the run is renumbered.
   * Each segment goes to them in this order, all at once: one that works on another thread comes first.
   */
  encoders: (runSeq: number) => readonly SegmentEncoder[];
  /** Segments on SharedArrayBuffer (Segmenter's `shared`), for an encoder on another thread (OpusWorkerEncoder). */
  sharedSegments?: boolean;
  /** Frames after a segment its encoders need (ENCODER_POST_ROLL): it is released that much later. */
  postRollFrames: number;
  publisher: SegmentPublisher;
  /** The seq of the run's first segment as far as this host knows (from its clock); `connect` may move it on. */
  firstSeq: number;
  log: Logger;
  /** Encoded segments waiting for upload before the oldest is dropped (bounds memory during an outage). */
  uploadQueueSegments: number;
  /** Wait before trying the oldest unsent segment again after a failed publish, and before the first retry of `connect`. */
  retryDelayMs: number;
  /** `connect` is retried with a wait doubling from `retryDelayMs` up to this (default 5 s). */
  connectRetryMaxMs?: number;
  /** The final manifest may take this long (default 5 s), whatever the shutdown signal says. */
  signOffTimeoutMs?: number;
  /**
   * A source that delivers nothing for this long has failed (an unplugged interface, a hung pipe): capture
   * ends as if the source had, everything captured is published and the station signs off, with
   * `captureStalled` in the summary. Unset: wait for the source for ever.
   */
  captureStallMs?: number;
  /** Shutdown's deadline: aborts every request in flight and every retry wait; unsent segments are given up. */
  signal?: AbortSignal;
  now?: () => Date;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  hooks?: StationHooks;
}

/** A segment cut from the capture, with its wall-clock start. */
interface CapturedSegment {
  segment: Segment;
  startedAt: Date;
}

interface EncodedItem {
  meta: SegmentMeta;
  encoded: readonly EncodedSegment[];
  /** Which numbering of the run it was encoded under (see `renumber`). */
  generation: number;
  /** Its samples, kept while the station is not on air: a renumbered run encodes them again. */
  captured?: CapturedSegment;
}

export interface StationSummary {
  published: number;
  /** Segments dropped (a queue full during an outage) or not published by the shutdown deadline. */
  dropped: number;
  /** The `live: false` manifest was written. */
  signedOff: boolean;
  /** The station connected to the store at least once. */
  wentOnAir: boolean;
  /** Capture ended because the source stopped delivering audio (see `captureStallMs`). */
  captureStalled: boolean;
}

/** What the source watchdog gives when the source has delivered nothing for `captureStallMs`. */
const STALLED = Symbol('capture stalled');

/**
 * The daemon's pipeline: source -> segmenter -> encoders -> publisher, joined by bounded queues. Capture,
 * encoding (and the archive, a hook) start at once, whatever the network: the publishing stage connects
 * (clock, bucket state, lock) on its own, retried with backoff. A live source never waits on the network:
 * when uploads fall behind, the oldest unsent segments are dropped (the publisher flags the gap as a
 * discontinuity) and publishing resumes as soon as the store answers. A source that can wait (a file, a
 * pipe) is held back instead, and loses nothing.
 *
 * Seqs: the run starts at `firstSeq` (the clock's segment count). Should `connect` find later seqs in the
 * bucket (a clock behind the last writer's, longer segments than before, a faster-than-real-time file),
 * the run is renumbered past them: its encoders bake the seq into each fragment's timeline, so the
 * segments not yet published are encoded again from their samples, which are kept until the station is
 * on air.
 */
export class Station {
  readonly #abort = new AbortController();
  #stopping = false;
  /** Aborted by `stop`: ends a wait to connect again (a station stopped while not on air does not try again). */
  readonly #stopped = new AbortController();
  #published = 0;
  #dropped = 0;
  #captureStalled = false;
  /** A publisher failure that cannot be retried: `run` ends with it. */
  #fatal: ClassifiedError | undefined;
  #onAir = false;
  #wentOnAir = false;
  /** Added to the segmenter's seqs: how far the run was renumbered. */
  #shift = 0;
  /** Bumped by each renumbering: an item encoded under an older one is encoded again. */
  #generation = 0;
  /** The current run's first seq and encoders; undefined: the next segment starts a run. */
  #run: { firstSeq: number; encoders: readonly SegmentEncoder[] } | undefined;
  /** Seq (renumbered) of the segment being encoded, and of the next one. */
  #encodingSeq: number | undefined;
  #nextSeq: number;
  /** Encoding is one segment at a time, also across a renumbering. */
  #encoding: Promise<unknown> = Promise.resolve();
  #segmenter: Segmenter | undefined;
  /**
   * The segment being published, taken out of the upload queue: the queue cannot drop it meanwhile, and it
   * is counted once, published or not.
   */
  #inFlight: EncodedItem | undefined;

  /** The publishing-failure ERROR, per cause: once in full, then a count a minute (a steady 403 must not flood the journal). */
  readonly #publishFailures: RateLimitedLog;

  constructor(private readonly options: StationOptions) {
    this.#publishFailures = new RateLimitedLog({ log: options.log, now: () => (options.now?.() ?? new Date()).getTime() });
    this.#nextSeq = options.firstSeq;
    const { signal } = options;
    if (signal?.aborted) this.#abort.abort(signal.reason);
    else signal?.addEventListener('abort', () => this.#abort.abort(signal.reason), { once: true });
  }

  /** Runs until the source ends or `stop` is called and everything captured is published or dropped. */
  async run(): Promise<StationSummary> {
    const { options } = this;
    const encodeQueue = new BoundedQueue<CapturedSegment>(2, (item) => this.#drop(item.segment.seq + this.#shift, 'encoding fell behind'));
    const uploadQueue = new BoundedQueue<EncodedItem>(options.uploadQueueSegments, (item) => this.#drop(item.meta.seq, 'upload queue full'));
    const segmenter = (this.#segmenter = new Segmenter({
      format: options.source.format,
      segmentFrames: Math.round(options.segmentSeconds * options.source.format.sampleRate),
      postRollFrames: options.postRollFrames,
      firstSeq: options.firstSeq,
      shared: options.sharedSegments ?? false,
    }));
    const results = await Promise.allSettled([
      this.#capture(segmenter, encodeQueue),
      this.#encode(encodeQueue, uploadQueue),
      this.#upload(uploadQueue),
    ]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const signedOff = this.#onAir && (await this.#signOff());
    if (failure) throw failure.reason;
    if (this.#fatal) throw this.#fatal; // from connect, publish or finish
    return { published: this.#published, dropped: this.#dropped, signedOff, wentOnAir: this.#wentOnAir, captureStalled: this.#captureStalled };
  }

  /** Stops capture; what was captured is still encoded and published. */
  stop(): void {
    this.#stopping = true;
    this.#stopped.abort();
    this.options.source.stop();
  }

  /** Gives up on unsent segments and ends requests in flight (a shutdown deadline); the final manifest is still attempted. */
  abandonUploads(): void {
    this.#abort.abort();
  }

  #drop(seq: number, why: string): void {
    this.#dropped++;
    this.options.log.warn({ seq }, `${why}: dropped segment ${seq}`);
  }

  async #signOff(): Promise<boolean> {
    const { log, publisher } = this.options;
    const deadline = deadlineSignal(undefined, this.options.signOffTimeoutMs ?? 5000, 'the final manifest');
    try {
      await publisher.finish(deadline.signal);
      log.info('station off air: manifest says live: false');
      return true;
    } catch (error) {
      if (error instanceof ClassifiedError && error.fatal) {
        this.#fatal = error; // `run` rejects with it
        return false;
      }
      const why = error instanceof Error ? error.message : String(error);
      log.error({ code: error instanceof ClassifiedError ? error.code : undefined }, `could not write the final manifest (live: false): ${why}; it still says live: true, and listeners see it go stale`);
      return false;
    } finally {
      deadline.dispose();
    }
  }

  async #capture(segmenter: Segmenter, encodeQueue: BoundedQueue<CapturedSegment>): Promise<void> {
    const { options } = this;
    const now = options.now ?? (() => new Date());
    const rate = options.source.format.sampleRate;
    const clock = new SampleClock(rate);
    const captureStarted = now().getTime();
    try {
      // A live source's segment began about its length (and post-roll) before it is released; a file's
      // or a pipe's is read faster or slower than real time, so its times follow the sample clock alone.
      const observedStart = (s: Segment) =>
        new Date(options.source.live ? now().getTime() - ((s.frames + s.postRoll.length / options.source.format.channels) * 1000) / rate : captureStarted + (s.startFrame * 1000) / rate);
      const captured = (s: Segment): CapturedSegment => ({ segment: s, startedAt: clock.next(s.frames, observedStart(s)) });
      const enqueue = options.source.live ? (s: Segment) => encodeQueue.push(captured(s)) : (s: Segment) => encodeQueue.pushWhenRoom(captured(s));
      const blocks = options.source.blocks()[Symbol.asyncIterator]();
      const watch = this.#watchSource();
      try {
        for (let next = await watch.next(blocks); next !== STALLED && !next.done; next = await watch.next(blocks)) {
          options.hooks?.captured?.(next.value);
          for (const segment of segmenter.push(next.value)) await enqueue(segment);
        }
      } finally {
        watch.dispose();
        // Not awaited: a stalled source may never answer.
        void blocks.return?.().catch(() => undefined);
      }
      const rest = segmenter.end();
      const partial = rest.at(-1);
      if (partial && partial.frames < segmenter.segmentFrames) {
        options.log.info({ seq: partial.seq + this.#shift, seconds: partial.frames / options.source.format.sampleRate }, `capture ended: publishing the partial last segment ${partial.seq + this.#shift}`);
      }
      for (const segment of rest) await enqueue(segment);
    } finally {
      encodeQueue.close();
      options.hooks?.captureEnded?.();
    }
  }

  /**
   * The source's blocks through a watchdog: `next` gives the next block, or STALLED once the source has
   * delivered nothing for `captureStallMs` while asked for one (then it is stopped). Time spent waiting
   * for room downstream is not the source's. One timer, re-armed at each request: a block comes 10 to 40
   * times a second.
   */
  #watchSource(): { next(blocks: AsyncIterator<PcmSamples>): Promise<IteratorResult<PcmSamples> | typeof STALLED>; dispose(): void } {
    const { captureStallMs, source, log } = this.options;
    if (captureStallMs === undefined) return { next: (blocks) => blocks.next(), dispose: () => undefined };
    /** Settles the request in progress; undefined while none is. */
    let answer: ((result: IteratorResult<PcmSamples> | typeof STALLED) => void) | undefined;
    // Fires `captureStallMs` after the latest request; only a request still unanswered is a stall. (No
    // race against one long-lived promise: each race would leave a reaction on it, holding its block.)
    const timer = setTimeout(() => answer?.(STALLED), captureStallMs);
    const request = (blocks: AsyncIterator<PcmSamples>) =>
      new Promise<IteratorResult<PcmSamples> | typeof STALLED>((resolve, reject) => {
        answer = (result) => ((answer = undefined), resolve(result));
        timer.refresh();
        blocks.next().then((result) => answer?.(result), (error: unknown) => ((answer = undefined), reject(error)));
      });
    return {
      next: async (blocks) => {
        const result = await request(blocks);
        if (result === STALLED && !this.#stopping) {
          this.#captureStalled = true;
          log.error({ seconds: captureStallMs / 1000 }, `no audio from ${source.description} for ${captureStallMs / 1000} s (unplugged, or its input hung?): publishing what was captured, then exiting so that the service restarts capture`);
          source.stop();
        }
        return result;
      },
      dispose: () => clearTimeout(timer),
    };
  }

  /** Runs `task` when no other encoding runs: segments reach the continuous encoders one at a time, in order. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#encoding.then(task);
    this.#encoding = result.catch(() => undefined);
    return result;
  }

  /** Encodes one captured segment under the current numbering (call inside `#exclusive`). */
  async #encodeOne(captured: CapturedSegment): Promise<EncodedItem> {
    const { options } = this;
    const seq = captured.segment.seq + this.#shift;
    this.#encodingSeq = seq;
    try {
      const run = (this.#run ??= { firstSeq: seq, encoders: options.encoders(seq) });
      const segment: Segment = { ...captured.segment, seq };
      const encoded = await Promise.all(run.encoders.map((e) => e.encode(segment)));
      const meta: SegmentMeta = { seq, run: run.firstSeq, samples: segment.frames, startedAt: captured.startedAt, discontinuity: segment.discontinuity || seq === run.firstSeq };
      this.#nextSeq = seq + 1;
      options.hooks?.encoded?.(meta, encoded);
      // The encoded bytes are copies: once on air, the samples can hold the next segment; before, they are
      // kept in case the run must be encoded again under other seqs.
      if (this.#onAir) this.#segmenter?.recycle(captured.segment);
      return { meta, encoded, generation: this.#generation, ...(!this.#onAir && { captured }) };
    } finally {
      this.#encodingSeq = undefined;
    }
  }

  async #encode(encodeQueue: BoundedQueue<CapturedSegment>, uploadQueue: BoundedQueue<EncodedItem>): Promise<void> {
    const { options } = this;
    try {
      for (let captured = await encodeQueue.shift(); captured; captured = await encodeQueue.shift()) {
        let item: EncodedItem;
        for (;;) {
          const current = captured;
          item = await this.#exclusive(() => this.#encodeOne(current));
          if (!options.source.live) await uploadQueue.whenRoom();
          // From this check to the push nothing else runs: a renumbering cannot slip in between.
          if (item.generation === this.#generation) break;
        }
        uploadQueue.push(item);
        options.hooks?.queued?.(this.#waiting(uploadQueue));
      }
    } finally {
      uploadQueue.close();
    }
  }

  /** Segments waiting to be published, the one in flight included. */
  #waiting(uploadQueue: BoundedQueue<EncodedItem>): number {
    return uploadQueue.length + (this.#inFlight ? 1 : 0);
  }

  /** The smallest seq not yet published: what `connect` must place after the bucket's last. */
  #floorSeq(uploadQueue: BoundedQueue<EncodedItem>): number {
    return uploadQueue.peekNow()?.meta.seq ?? this.#encodingSeq ?? this.#nextSeq;
  }

  /**
   * Moves every seq not yet published on by `shift` (the bucket holds later ones): a new run begins, and the
   * queued segments are encoded again from their kept samples under their new seqs.
   */
  async #renumber(shift: number, uploadQueue: BoundedQueue<EncodedItem>): Promise<void> {
    const { log } = this.options;
    await this.#exclusive(async () => {
      if (shift > 0) {
        this.#shift += shift;
        this.#generation++;
        this.#run = undefined;
        const stale = uploadQueue.takeAll();
        const from = stale[0]?.meta.seq ?? this.#nextSeq;
        this.#nextSeq += shift;
        log.warn({ shift, fromSeq: from, toSeq: from + shift }, `the bucket already holds seqs up to ${from + shift - 1} (this host's clock is behind the last writer's, the segments were longer, or a file ran faster than real time): this run starts at seq ${from + shift} instead of ${from}, and its ${stale.length} unpublished segments are encoded again`);
        for (const item of stale) {
          if (!item.captured) {
            this.#drop(item.meta.seq, 'no samples left to encode it again under its new seq');
            continue;
          }
          uploadQueue.returnToBack(await this.#encodeOne(item.captured));
        }
      }
      this.#onAir = true;
      // On air: the kept samples are no longer needed.
      for (const item of uploadQueue.peekAll()) {
        if (item.captured) this.#segmenter?.recycle(item.captured.segment);
        delete item.captured;
      }
    });
  }

  /** Connects, retrying with a doubling wait until it works or the shutdown deadline; false if it never did. */
  async #connect(uploadQueue: BoundedQueue<EncodedItem>, sleep: (ms: number, signal: AbortSignal) => Promise<void>): Promise<boolean> {
    const { options } = this;
    const signal = this.#abort.signal;
    const maxDelayMs = Math.max(options.retryDelayMs, options.connectRetryMaxMs ?? 5000);
    for (let attempt = 0; !signal.aborted; attempt++) {
      const floor = this.#floorSeq(uploadQueue);
      try {
        const next = await options.publisher.connect(floor, signal);
        if (next < floor) throw new RangeError(`connect gave seq ${next}, before ${floor}`);
        await this.#renumber(next - floor, uploadQueue);
        this.#wentOnAir = true;
        options.log.info({ seq: next }, `on air from segment ${next}`);
        options.hooks?.onAir?.(next);
        return true;
      } catch (error) {
        if (signal.aborted || this.#endsStation(error)) break;
        options.hooks?.connectFailed?.(error);
        // Stopped while not on air: what was captured is in the archive, and waiting out the shutdown
        // deadline for a store that has not answered would only hold up the stop.
        if (this.#stopping) break;
        const delayMs = Math.min(maxDelayMs, options.retryDelayMs * 2 ** attempt);
        const retry = `not on air yet; trying again in ${delayMs / 1000} s (capture and the archive go on)`;
        if (error instanceof ClassifiedError) this.#publishFailures.error(`connect ${error.code}`, { code: error.code }, `${error.message}: ${retry}`);
        else this.#publishFailures.error(`connect unexpected ${error instanceof Error ? error.name : typeof error}`, { err: error }, `connecting to the store failed: ${retry}`);
        await sleep(delayMs, AbortSignal.any([signal, this.#stopped.signal]));
        if (this.#stopping) break;
      }
    }
    return false;
  }

  async #upload(uploadQueue: BoundedQueue<EncodedItem>): Promise<void> {
    const { options } = this;
    const signal = this.#abort.signal;
    const sleep = options.sleep ?? abortableSleep;
    try {
      while (!signal.aborted) {
        if (!this.#onAir) {
          // Nothing left to publish and nothing more coming: no reason to connect.
          if (uploadQueue.isClosed && uploadQueue.length === 0) break;
          if (!(await this.#connect(uploadQueue, sleep))) break;
        }
        const item = (this.#inFlight ??= await uploadQueue.shift());
        if (!item) break;
        const started = performance.now();
        try {
          await options.hooks?.beforePublish?.(item.meta);
          await options.publisher.publish(item.meta, item.encoded, signal);
          this.#inFlight = undefined;
          this.#published++;
          options.hooks?.published?.(item.meta, (performance.now() - started) / 1000);
        } catch (error) {
          if (signal.aborted || this.#endsStation(error)) break;
          if (error instanceof ClassifiedError && error.offAir) {
            // Another daemon took over: stop publishing, keep capturing, and wait to connect again.
            this.#onAir = false;
            this.#inFlight = undefined;
            uploadQueue.returnToFront(item);
            this.#publishFailures.error(`off air ${error.code}`, { code: error.code }, `${error.message}; this daemon stops publishing (capture and the archive go on) and goes on air again once the bucket is free`);
            options.hooks?.offAir?.(error);
            continue;
          }
          options.hooks?.uploadFailed?.(item.meta, error);
          const { seq } = item.meta;
          const retry = `trying again in ${options.retryDelayMs / 1000} s`;
          // A classified failure (code, kind, what to check) is one line without a stack, limited per code.
          // Anything else is unexpected and keeps its stack.
          if (error instanceof ClassifiedError) {
            this.#publishFailures.error(error.code, { seq, code: error.code, ...('kind' in error && { kind: error.kind }) }, `publishing segment ${seq} failed: ${error.message}; ${retry}`);
          } else {
            this.#publishFailures.error(`unexpected ${error instanceof Error ? error.name : typeof error}`, { err: error, seq }, `publishing segment ${seq} failed; ${retry}`);
          }
          await sleep(options.retryDelayMs, signal);
        }
        options.hooks?.queued?.(this.#waiting(uploadQueue));
      }
    } finally {
      this.#publishFailures.flush();
    }
    // After the shutdown deadline or a fatal failure: take what the encoders still deliver (a waiting
    // producer must not hang).
    const abandoned: number[] = this.#inFlight ? [this.#inFlight.meta.seq] : [];
    this.#inFlight = undefined;
    for (let item = await uploadQueue.shift(); item; item = await uploadQueue.shift()) abandoned.push(item.meta.seq);
    this.#dropped += abandoned.length;
    options.hooks?.queued?.(0);
    if (this.#fatal) return; // `run` rejects with it: that says why, once
    const why = signal.aborted ? 'shutdown deadline' : this.#wentOnAir ? 'stopped while off air' : 'stopped before the store ever answered';
    if (abandoned.length) options.log.warn({ seqs: abandoned }, `${why}: ${abandoned.length} segments were not published`);
    if (this.#stopping && !signal.aborted && abandoned.length === 0) options.log.info('all captured segments published');
  }

  /**
   * Whether `error` (from connect or publish) cannot be retried: then capture stops, the station goes off
   * air for good (no sign-off: it would name what was not published) and `run` rejects with it.
   */
  #endsStation(error: unknown): boolean {
    if (!(error instanceof ClassifiedError && error.fatal)) return false;
    this.#fatal ??= error;
    this.#onAir = false;
    this.stop();
    return true;
  }
}
