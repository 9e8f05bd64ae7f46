import type { PcmSource } from '../capture/pcm-source.js';
import type { PcmSamples } from '../segment/pcm.js';
import type { EncodedSegment, SegmentEncoder } from '../encode/segment-encoder.js';
import type { Logger } from '../ops/logger.js';
import type { SegmentMeta } from '../publish/publisher.js';
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
  preRollFrames: number;
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

  constructor(private readonly options: StationOptions) {}

  /** Runs until the source ends or `stop` is called and everything captured is published or dropped. */
  async run(): Promise<StationSummary> {
    const { options } = this;
    const log = options.log;
    const encodeQueue = new BoundedQueue<Segment>(2, (segment) => this.drop(segment.seq, 'encoding fell behind'));
    const uploadQueue = new BoundedQueue<EncodedItem>(options.uploadQueueSegments, (item) => this.drop(item.meta.seq, 'upload queue full'));
    const segmenter = new Segmenter({
      format: options.source.format,
      segmentFrames: Math.round(options.segmentSeconds * options.source.format.sampleRate),
      preRollFrames: options.preRollFrames,
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

  private async capture(segmenter: Segmenter, encodeQueue: BoundedQueue<Segment>): Promise<void> {
    const { options } = this;
    try {
      const enqueue = options.source.live ? (s: Segment) => encodeQueue.push(s) : (s: Segment) => encodeQueue.pushWhenRoom(s);
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

  private async encode(encodeQueue: BoundedQueue<Segment>, uploadQueue: BoundedQueue<EncodedItem>, segmenter: Segmenter): Promise<void> {
    const { options } = this;
    const startedAt = (options.now ?? (() => new Date()))();
    const rate = options.source.format.sampleRate;
    try {
      for (let segment = await encodeQueue.shift(); segment; segment = await encodeQueue.shift()) {
        const encoded = await Promise.all(options.encoders.map((e) => e.encode(segment!)));
        segmenter.recycle(segment); // the encoded bytes are copies: its samples can hold the next segment
        const meta: SegmentMeta = {
          seq: segment.seq,
          samples: segment.frames,
          startedAt: new Date(startedAt.getTime() + (segment.startFrame * 1000) / rate),
          discontinuity: segment.discontinuity,
        };
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
      const timer = setTimeout(resolve, ms);
      s.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
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
        options.log.error({ err: error, seq: item.meta.seq }, `publishing segment ${item.meta.seq} failed; trying again in ${options.retryDelayMs / 1000} s`);
        await sleep(options.retryDelayMs, signal);
      }
      options.hooks?.queued?.(uploadQueue.length);
    }
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
