import type { PcmFormat, PcmSamples } from './pcm.js';

/** A segment cut from the signal: frames [startFrame, startFrame + frames) of a run. */
export interface Segment {
  seq: number;
  /** Index of the segment's first frame in the run (the sample clock, not the wall clock). */
  startFrame: number;
  frames: number;
  samples: PcmSamples;
  /** Up to `preRollFrames` frames that came just before this segment, for encoders that need a warm start. */
  preRoll: PcmSamples;
  /** True when this segment does not follow the one before it without a gap. */
  discontinuity: boolean;
}

export interface SegmenterOptions {
  format: PcmFormat;
  segmentFrames: number;
  preRollFrames: number;
  /** The seq of the first segment of this run. */
  firstSeq: number;
}

/**
 * Cuts a PCM signal into segments by sample count: segment N holds frames [N*L, (N+1)*L) of the run.
 * Pure: no clock, no I/O. `push` returns the segments each block completes; `end` the partial last one.
 */
export class Segmenter {
  private readonly channels: number;
  private buffer: PcmSamples;
  private filled = 0;
  private nextSeq: number;
  private nextStartFrame = 0;
  private preRoll: PcmSamples = new Int32Array(0);
  private discontinuity = true;

  constructor(private readonly options: SegmenterOptions) {
    if (!Number.isInteger(options.segmentFrames) || options.segmentFrames <= 0) {
      throw new RangeError(`segmentFrames must be a positive integer, got ${options.segmentFrames}`);
    }
    this.channels = options.format.channels;
    this.buffer = new Int32Array(options.segmentFrames * this.channels);
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
      if (this.filled === this.buffer.length) completed.push(this.cut());
    }
    return completed;
  }

  /** Ends the run: returns the partial last segment, if any frames are left. */
  end(): Segment | undefined {
    return this.filled > 0 ? this.cut() : undefined;
  }

  /**
   * Marks a break in the signal (frames were lost upstream): the partial segment is dropped and the
   * next segment is flagged as a discontinuity. Returns the number of frames dropped.
   */
  breakRun(): number {
    const dropped = this.filled / this.channels;
    this.filled = 0;
    this.preRoll = new Int32Array(0);
    this.discontinuity = true;
    return dropped;
  }

  /** The seq the next segment will carry. */
  get pendingSeq(): number {
    return this.nextSeq;
  }

  private cut(): Segment {
    const samples = this.filled === this.buffer.length ? this.buffer : this.buffer.slice(0, this.filled);
    const frames = this.filled / this.channels;
    const segment: Segment = {
      seq: this.nextSeq++,
      startFrame: this.nextStartFrame,
      frames,
      samples,
      preRoll: this.preRoll,
      discontinuity: this.discontinuity,
    };
    const preRollSamples = Math.min(this.options.preRollFrames * this.channels, samples.length);
    this.preRoll = samples.slice(samples.length - preRollSamples);
    this.nextStartFrame += frames;
    this.discontinuity = false;
    this.buffer = new Int32Array(this.options.segmentFrames * this.channels);
    this.filled = 0;
    return segment;
  }
}
