import type { PcmSource } from '../capture/pcm-source.js';
import type { PcmSamples } from '../segment/pcm.js';
import type { EncodedSegment, SegmentEncoder } from '../encode/segment-encoder.js';
import type { Logger } from '../ops/logger.js';
import { RateLimitedLog } from '../ops/rate-limited-log.js';
import { StorageError } from '../publish/s3-errors.js';
import type { SegmentMeta } from '../publish/publisher.js';
import { SampleClock } from '../segment/sample-clock.js';
import { Segmenter, type Segment } from '../segment/segmenter.js';
import { BoundedQueue } from './bounded-queue.js';

/** The publisher as the station uses it (see publish/publisher.ts). */
export interface SegmentPublisher {
  publish(meta: SegmentMeta, encoded: readonly EncodedSegment[]): Promise<unknown>;
  finish(): Promise<void>;
}

/** Observers of the pipeline, for metrics and the archive; all optional. */
export interface StationHooks {
  /** Every captured block, before segmenting. */
  captured?(block: Int32Array): void;
  /** Capture has stopped (source ended or stop()); nothing more will be captured. */
  captureEnded?(): void;
  /** Awaited before each segment is published (the archive makes what was captured durable first). */
  beforePublish?(meta: SegmentMeta): Promise<void>;
  encoded?(meta: SegmentMeta, encoded: readonly EncodedSegment[]): void;
  published?(meta: SegmentMeta, seconds: number): void;
  uploadFailed?(meta: SegmentMeta, error: unknown): void;
  /** The upload queue's length changed. */
  queued?(segments: number): void;
}

export interface StationOptions {
  source: PcmSource;
  segmentSeconds: number;
  /** HQ and LQ encoders; a segment is published once all have encoded it. */
  encoders: readonly SegmentEncoder[];
  /** Frames after a segment its encoders need (ENCODER_POST_ROLL): it is released that much later. */
  postRollFrames: number;
  publisher: SegmentPublisher;
  firstSeq: number;
  log: Logger;
  /** Encoded segments waiting for upload before the oldest is dropped (bounds memory during an outage). */
  uploadQueueSegments: number;
  /** Wait before trying the oldest unsent segment again after a failed publish. */
  retryDelayMs: number;
  /**
   * A source that delivers nothing for this long has failed (an unplugged interface, a hung pipe): capture
   * ends as if the source had, everything captured is published and the station signs off, with
   * `captureStalled` in the summary. Unset: wait for the source for ever.
   */
  captureStallMs?: number;
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
  encoded: EncodedSegment[];
}

export interface StationSummary {
  published: number;
  dropped: number;
  /** The `live: false` manifest was written. */
  signedOff: boolean;
  /** Capture ended because the source stopped delivering audio (see `captureStallMs`). */
  captureStalled: boolean;
}

/** What `nextBlock` gives when the source has delivered nothing for `captureStallMs`. */
const STALLED = Symbol('capture stalled');

/**
 * The daemon's pipeline: source -> segmenter -> encoders -> publisher, joined by bounded queues. A live
 * source never waits on the network: when uploads fall behind, the oldest unsent segments are dropped (the
 * publisher flags the gap as a discontinuity) and publishing resumes as soon as the store answers. A source
 * that can wait (a file, a pipe) is held back instead, and loses nothing.
 */
export class Station {
  private readonly abortUploads = new AbortController();
  private stopping = false;
  private published = 0;
  private dropped = 0;
  private captureStalled = false;

  /** The publishing-failure ERROR, per cause: once in full, then a count a minute (a steady 403 must not flood the journal). */
  private readonly publishFailures: RateLimitedLog;

  constructor(private readonly options: StationOptions) {
    this.publishFailures = new RateLimitedLog({ log: options.log, now: () => (options.now?.() ?? new Date()).getTime() });
  }

  /** Runs until the source ends or `stop` is called and everything captured is published or dropped. */
  async run(): Promise<StationSummary> {
    const { options } = this;
    const log = options.log;
    const encodeQueue = new BoundedQueue<CapturedSegment>(2, (item) => this.drop(item.segment.seq, 'encoding fell behind'));
    const uploadQueue = new BoundedQueue<EncodedItem>(options.uploadQueueSegments, (item) => this.drop(item.meta.seq, 'upload queue full'));
    const segmenter = new Segmenter({
      format: options.source.format,
      segmentFrames: Math.round(options.segmentSeconds * options.source.format.sampleRate),
      postRollFrames: options.postRollFrames,
      firstSeq: options.firstSeq,
    });
    const results = await Promise.allSettled([
      this.capture(segmenter, encodeQueue),
      this.encode(encodeQueue, uploadQueue, segmenter),
      this.upload(uploadQueue),
    ]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    let signedOff = false;
    try {
      await options.publisher.finish();
      signedOff = true;
      log.info('station off air: manifest says live: false');
    } catch (error) {
      log.error({ err: error }, 'could not write the final manifest (live: false)');
    }
    if (failure) throw failure.reason;
    return { published: this.published, dropped: this.dropped, signedOff, captureStalled: this.captureStalled };
  }

  /** Stops capture; what was captured is still encoded and published. */
  stop(): void {
    this.stopping = true;
    this.options.source.stop();
  }

  /** Gives up on unsent segments (a shutdown deadline); the final manifest is still attempted. */
  abandonUploads(): void {
    this.abortUploads.abort();
  }

  private drop(seq: number, why: string): void {
    this.dropped++;
    this.options.log.warn({ seq }, `${why}: dropped segment ${seq}`);
  }

  private async capture(segmenter: Segmenter, encodeQueue: BoundedQueue<CapturedSegment>): Promise<void> {
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
      try {
        for (let next = await this.nextBlock(blocks); next !== STALLED && !next.done; next = await this.nextBlock(blocks)) {
          options.hooks?.captured?.(next.value);
          for (const segment of segmenter.push(next.value)) await enqueue(segment);
        }
      } finally {
        // Not awaited: a stalled source may never answer.
        void blocks.return?.().catch(() => undefined);
      }
      const rest = segmenter.end();
      const partial = rest.at(-1);
      if (partial && partial.frames < segmenter.segmentFrames) {
        options.log.info({ seq: partial.seq, seconds: partial.frames / options.source.format.sampleRate }, `capture ended: publishing the partial last segment ${partial.seq}`);
      }
      for (const segment of rest) await enqueue(segment);
    } finally {
      encodeQueue.close();
      options.hooks?.captureEnded?.();
    }
  }

  /** The source's next block, or STALLED once it has delivered nothing for `captureStallMs` (then it is stopped). */
  private async nextBlock(blocks: AsyncIterator<PcmSamples>): Promise<IteratorResult<PcmSamples> | typeof STALLED> {
    const { captureStallMs, source, log } = this.options;
    const next = blocks.next();
    if (captureStallMs === undefined) return next;
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<typeof STALLED>((resolve) => (timer = setTimeout(() => resolve(STALLED), captureStallMs)));
    const result = await Promise.race([next, stalled]).finally(() => clearTimeout(timer));
    if (result === STALLED && !this.stopping) {
      this.captureStalled = true;
      log.error({ seconds: captureStallMs / 1000 }, `no audio from ${source.description} for ${captureStallMs / 1000} s (unplugged, or its input hung?): publishing what was captured, then exiting so that the service restarts capture`);
      source.stop();
    }
    return result;
  }

  private async encode(encodeQueue: BoundedQueue<CapturedSegment>, uploadQueue: BoundedQueue<EncodedItem>, segmenter: Segmenter): Promise<void> {
    const { options } = this;
    try {
      for (let item = await encodeQueue.shift(); item; item = await encodeQueue.shift()) {
        const { segment, startedAt } = item;
        const encoded = await Promise.all(options.encoders.map((e) => e.encode(segment)));
        segmenter.recycle(segment); // the encoded bytes are copies: its samples can hold the next segment
        const meta: SegmentMeta = { seq: segment.seq, run: options.firstSeq, samples: segment.frames, startedAt, discontinuity: segment.discontinuity };
        options.hooks?.encoded?.(meta, encoded);
        if (options.source.live) uploadQueue.push({ meta, encoded });
        else await uploadQueue.pushWhenRoom({ meta, encoded });
        options.hooks?.queued?.(uploadQueue.length);
      }
    } finally {
      uploadQueue.close();
    }
  }

  private async upload(uploadQueue: BoundedQueue<EncodedItem>): Promise<void> {
    const { options } = this;
    const signal = this.abortUploads.signal;
    const sleep = options.sleep ?? ((ms, s) => new Promise<void>((resolve) => {
      // The listener goes when the timer fires: one left behind per failed publish is a leak.
      const onAbort = () => (clearTimeout(timer), resolve());
      const timer = setTimeout(() => (s.removeEventListener('abort', onAbort), resolve()), ms);
      s.addEventListener('abort', onAbort, { once: true });
    }));
    for (let item = await uploadQueue.peek(); item && !signal.aborted; item = await uploadQueue.peek()) {
      const started = performance.now();
      try {
        await options.hooks?.beforePublish?.(item.meta);
        await options.publisher.publish(item.meta, item.encoded);
        uploadQueue.remove(item);
        this.published++;
        options.hooks?.published?.(item.meta, (performance.now() - started) / 1000);
      } catch (error) {
        options.hooks?.uploadFailed?.(item.meta, error);
        const { seq } = item.meta;
        const retry = `trying again in ${options.retryDelayMs / 1000} s`;
        // A StorageError is classified already (code, kind, what to check): one line without a stack, limited
        // per code. Anything else is unexpected and keeps its stack.
        if (error instanceof StorageError) {
          this.publishFailures.error(error.code, { seq, code: error.code, kind: error.kind }, `publishing segment ${seq} failed: ${error.message}; ${retry}`);
        } else {
          this.publishFailures.error(`unexpected ${error instanceof Error ? error.name : typeof error}`, { err: error, seq }, `publishing segment ${seq} failed; ${retry}`);
        }
        await sleep(options.retryDelayMs, signal);
      }
      options.hooks?.queued?.(uploadQueue.length);
    }
    this.publishFailures.flush();
    // After the shutdown deadline: take what the encoders still deliver (a waiting producer must not hang).
    const abandoned: number[] = [];
    for (let item = await uploadQueue.shift(); item; item = await uploadQueue.shift()) abandoned.push(item.meta.seq);
    if (abandoned.length) {
      this.dropped += abandoned.length;
      options.log.warn({ seqs: abandoned }, `shutdown deadline: ${abandoned.length} segments were not published`);
    }
    if (this.stopping && !signal.aborted) options.log.info('all captured segments published');
  }
}
