import type { PcmFormat, PcmSamples } from './pcm.js';

/** A segment cut from the signal: frames [startFrame, startFrame + frames) of a run. */
export interface Segment {
  seq: number;
  /** Index of the segment's first frame in the run (the sample clock, not the wall clock). */
  startFrame: number;
  frames: number;
  samples: PcmSamples;
  /** Up to `postRollFrames` frames that follow it: what the encoders need to finish the segment (their lookahead). */
  postRoll: PcmSamples;
  /** True when this segment does not follow the one before it without a gap. */
  discontinuity: boolean;
}

/** Recycled buffers kept; one segment is filled while another is encoded. */
const MAX_SPARE_BUFFERS = 2;

export interface SegmenterOptions {
  format: PcmFormat;
  segmentFrames: number;
  /** Frames of the next segment to wait for before a full segment is released (a few ms of latency). */
  postRollFrames: number;
  /** The seq of the first segment of this run. */
  firstSeq: number;
  /**
   * Full segments on SharedArrayBuffer: an encoder on another thread (OpusWorkerEncoder) then reads the
   * same samples as the encoders on this one, at the same time, without a copy or a transfer.
   */
  shared?: boolean;
}

/**
 * Cuts a PCM signal into segments by sample count: segment N holds frames [N*L, (N+1)*L) of the run.
 * Pure: no clock, no I/O. `push` returns the segments each block completes (each released once
 * `postRollFrames` of the next have arrived); `end` returns the rest.
 */
export class Segmenter {
  private readonly channels: number;
  private buffer: PcmSamples;
  private filled = 0;
  private nextSeq: number;
  private nextStartFrame = 0;
  private discontinuity = true;
  /** A full segment waiting for its post-roll. */
  private held: Segment | undefined;
  /** Full-size buffers of encoded segments, given back by `recycle`, for the next segments. */
  private readonly spare: PcmSamples[] = [];

  constructor(private readonly options: SegmenterOptions) {
    if (!Number.isInteger(options.segmentFrames) || options.segmentFrames <= 0) {
      throw new RangeError(`segmentFrames must be a positive integer, got ${options.segmentFrames}`);
    }
    if (options.postRollFrames > options.segmentFrames) throw new RangeError('postRollFrames must not exceed segmentFrames');
    this.channels = options.format.channels;
    this.buffer = this.newBuffer();
    this.nextSeq = options.firstSeq;
  }

  /** Adds interleaved samples; returns the segments they complete, oldest first. */
  push(samples: PcmSamples): Segment[] {
    if (samples.length % this.channels !== 0) throw new RangeError('push: samples must hold whole frames');
    const completed: Segment[] = [];
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(samples.length - offset, this.buffer.length - this.filled);
      this.buffer.set(samples.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      const postRollSamples = this.options.postRollFrames * this.channels;
      if (this.held && this.filled >= postRollSamples) completed.push(this.release(this.buffer.slice(0, postRollSamples)));
      if (this.filled === this.buffer.length) {
        this.held = this.cut();
        if (postRollSamples === 0) completed.push(this.release(new Int32Array(0)));
      }
    }
    return completed;
  }

  /** Ends the run: returns the segments not yet released, the partial last one included. */
  end(): Segment[] {
    const rest: Segment[] = [];
    if (this.held) rest.push(this.release(this.buffer.slice(0, this.filled)));
    if (this.filled > 0) rest.push({ ...this.cut(), postRoll: new Int32Array(0) });
    return rest;
  }

  private release(postRoll: PcmSamples): Segment {
    const segment = { ...this.held!, postRoll };
    this.held = undefined;
    return segment;
  }

  /**
   * Gives back the samples of a segment that is no longer needed (encoded), so the next segment fills them
   * instead of a new 4 MB array: the daemon then allocates little per segment, and the GC stays idle.
   */
  recycle(segment: Pick<Segment, 'samples'>): void {
    const { samples } = segment;
    const inUse = samples === this.buffer || samples === this.held?.samples || this.spare.includes(samples);
    if (samples.length === this.buffer.length && !inUse && this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(samples);
  }

  /** Frames in a full segment. */
  get segmentFrames(): number {
    return this.options.segmentFrames;
  }

  private cut(): Segment {
    const samples = this.filled === this.buffer.length ? this.buffer : this.buffer.slice(0, this.filled);
    const frames = this.filled / this.channels;
    const segment: Segment = {
      seq: this.nextSeq++,
      startFrame: this.nextStartFrame,
      frames,
      samples,
      postRoll: new Int32Array(0),
      discontinuity: this.discontinuity,
    };
    this.nextStartFrame += frames;
    this.discontinuity = false;
    this.buffer = this.spare.pop() ?? this.newBuffer();
    this.filled = 0;
    return segment;
  }

  private newBuffer(): PcmSamples {
    const length = this.options.segmentFrames * this.channels;
    return this.options.shared ? new Int32Array(new SharedArrayBuffer(length * Int32Array.BYTES_PER_ELEMENT)) : new Int32Array(length);
  }
}
