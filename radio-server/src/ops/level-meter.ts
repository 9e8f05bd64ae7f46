import type { PcmFormat, PcmSamples } from '../segment/pcm.js';
import type { Logger } from './logger.js';

/** When the meter reports and when it speaks up; times are in seconds of signal, counted by samples. */
export interface LevelMeterPolicy {
  /** Length of each reading's window. */
  windowSeconds: number;
  /** A window whose RMS is under this on every channel is silent. */
  deadAirBelowDbfs: number;
  /** Silent for this long is dead air: a WARN, once, and an INFO when the audio comes back. */
  deadAirAfterSeconds: number;
  /** Clipping is reported at most once in this much signal. */
  clipWarnEverySeconds: number;
}

/** The defaults of the issue: dead air is under -50 dBFS for 30 s. */
export const LEVEL_METER_POLICY: LevelMeterPolicy = { windowSeconds: 1, deadAirBelowDbfs: -50, deadAirAfterSeconds: 30, clipWarnEverySeconds: 60 };

/** One window's levels. dBFS relative to a full-scale square wave: a full-scale sine is 0 peak, -3.01 RMS; digital silence is -Infinity. */
export interface LevelReading {
  /** Per channel, in channel order. */
  peakDbfs: number[];
  rmsDbfs: number[];
  /** Samples at or within 1 LSB of full scale in this window, all channels. */
  clipped: number;
  /** How long the input has been silent, up to the end of this window (0 when it is not). */
  silenceSeconds: number;
}

/** The names of the channels, as metric labels and on the status line. */
export function channelNames(channels: 1 | 2): readonly string[] {
  return channels === 1 ? ['mono'] : ['left', 'right'];
}

const dbfs = (ratio: number) => 20 * Math.log10(ratio);

/**
 * Input levels of the captured signal, per channel, over fixed windows: peak, RMS, clipped samples, and
 * dead air. Cheap enough for every captured block (one pass, no allocation per sample) and timed by sample
 * count, so a test can feed minutes of signal in milliseconds and the log says what the listeners heard.
 */
export class LevelMeter {
  /** The channels' names, in order: the `channel` label of the level metrics. */
  readonly channelNames: readonly string[];
  readonly #log: Logger;
  readonly #policy: LevelMeterPolicy;
  readonly #channels: number;
  readonly #sampleRate: number;
  readonly #fullScale: number;
  readonly #clipAbove: number;
  readonly #clipBelow: number;
  readonly #windowFrames: number;
  readonly #peak: Float64Array;
  readonly #sumSquares: Float64Array;
  #windowFill = 0;
  #windowClipped = 0;
  #silentFrames = 0;
  #deadAirReported = false;
  /** Clipped samples not reported yet, and the signal (frames) since the last clipping WARN; undefined before the first. */
  #clipsUnreported = 0;
  #framesSinceClipWarn: number | undefined;

  constructor(format: PcmFormat, log: Logger, policy: Partial<LevelMeterPolicy> = {}) {
    this.channelNames = channelNames(format.channels);
    this.#log = log;
    this.#policy = { ...LEVEL_METER_POLICY, ...policy };
    this.#channels = format.channels;
    this.#sampleRate = format.sampleRate;
    this.#fullScale = 2 ** (format.bitsPerSample - 1);
    // The largest positive sample is fullScale - 1: "within 1 LSB" of either end.
    this.#clipAbove = this.#fullScale - 2;
    this.#clipBelow = -this.#fullScale + 1;
    this.#windowFrames = Math.max(1, Math.round(this.#policy.windowSeconds * format.sampleRate));
    this.#peak = new Float64Array(format.channels);
    this.#sumSquares = new Float64Array(format.channels);
  }

  /** Measures an interleaved block; returns the readings of the windows it completed (usually none or one). */
  push(block: PcmSamples): LevelReading[] {
    const readings: LevelReading[] = [];
    const channels = this.#channels;
    for (let start = 0; start < block.length; ) {
      const end = Math.min(block.length, start + (this.#windowFrames - this.#windowFill) * channels);
      this.#accumulate(block, start, end);
      this.#windowFill += (end - start) / channels;
      start = end;
      if (this.#windowFill === this.#windowFrames) readings.push(this.#closeWindow());
    }
    return readings;
  }

  #accumulate(block: PcmSamples, start: number, end: number): void {
    const channels = this.#channels;
    const clipAbove = this.#clipAbove;
    const clipBelow = this.#clipBelow;
    let clipped = 0;
    for (let c = 0; c < channels; c++) {
      let peak = this.#peak[c]!;
      let sum = this.#sumSquares[c]!;
      for (let i = start + c; i < end; i += channels) {
        const v = block[i]!;
        const magnitude = v < 0 ? -v : v;
        if (magnitude > peak) peak = magnitude;
        sum += v * v;
        if (v >= clipAbove || v <= clipBelow) clipped++;
      }
      this.#peak[c] = peak;
      this.#sumSquares[c] = sum;
    }
    this.#windowClipped += clipped;
  }

  #closeWindow(): LevelReading {
    const frames = this.#windowFrames;
    const peakDbfs: number[] = [];
    const rmsDbfs: number[] = [];
    for (let c = 0; c < this.#channels; c++) {
      peakDbfs.push(dbfs(this.#peak[c]! / this.#fullScale));
      rmsDbfs.push(dbfs(Math.sqrt(this.#sumSquares[c]! / frames) / this.#fullScale));
    }
    const clipped = this.#windowClipped;
    this.#peak.fill(0);
    this.#sumSquares.fill(0);
    this.#windowFill = 0;
    this.#windowClipped = 0;
    this.#trackDeadAir(Math.max(...rmsDbfs) < this.#policy.deadAirBelowDbfs, frames);
    this.#trackClipping(clipped, frames);
    return { peakDbfs, rmsDbfs, clipped, silenceSeconds: this.#silentFrames / this.#sampleRate };
  }

  #trackDeadAir(silent: boolean, frames: number): void {
    const { deadAirBelowDbfs, deadAirAfterSeconds } = this.#policy;
    if (silent) {
      this.#silentFrames += frames;
      if (!this.#deadAirReported && this.#silentFrames >= deadAirAfterSeconds * this.#sampleRate) {
        this.#deadAirReported = true;
        const seconds = this.#silentFrames / this.#sampleRate;
        this.#log.warn({ silenceSeconds: seconds, thresholdDbfs: deadAirBelowDbfs }, `dead air: the input has been under ${deadAirBelowDbfs} dBFS for ${seconds.toFixed(0)} s; check the studio output and the audio interface`);
      }
      return;
    }
    if (this.#deadAirReported) {
      const seconds = this.#silentFrames / this.#sampleRate;
      this.#log.info({ silenceSeconds: seconds }, `audio is back after ${seconds.toFixed(0)} s of dead air`);
    }
    this.#silentFrames = 0;
    this.#deadAirReported = false;
  }

  #trackClipping(clipped: number, frames: number): void {
    if (this.#framesSinceClipWarn !== undefined) this.#framesSinceClipWarn += frames;
    this.#clipsUnreported += clipped;
    if (clipped === 0) return;
    const span = this.#framesSinceClipWarn ?? frames;
    if (this.#framesSinceClipWarn !== undefined && span < this.#policy.clipWarnEverySeconds * this.#sampleRate) return;
    const seconds = span / this.#sampleRate;
    this.#log.warn({ clippedSamples: this.#clipsUnreported, seconds }, `input clipping: ${this.#clipsUnreported} samples at full scale in the last ${seconds.toFixed(0)} s; turn the input gain down`);
    this.#clipsUnreported = 0;
    this.#framesSinceClipWarn = 0;
  }
}
