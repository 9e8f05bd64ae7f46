import type { Manifest, StreamName } from '@radio/protocol';

/** What the listener picks: one stream, or `auto` (adaptive). */
export type Quality = 'auto' | StreamName;

/** Every quality the player offers, in the order the select lists them. */
export const QUALITIES: readonly Quality[] = ['auto', 'hq', 'lq'];

/** Auto picks HQ only when the measured download speed is at least this many times the HQ bitrate. */
export const HQ_HEADROOM = 2;

/** True for a string that names a {@link Quality} (for values read back from storage or attributes). */
export function isQuality(value: unknown): value is Quality {
  return QUALITIES.includes(value as Quality);
}

/**
 * Bits per second of the HQ stream, from the newest segment the manifest lists (FLAC is variable
 * rate, so the newest is the best guess for the next one).
 */
export function hqBitrate(manifest: Manifest): number | undefined {
  const newest = manifest.streams.hq.segments.at(-1);
  if (!newest) return undefined;
  return (newest.bytes * 8) / (newest.samples / manifest.sampleRate);
}

/**
 * The stream to load next: only one the browser can play (`playable`); among those a fixed choice is
 * obeyed, and `auto` starts on LQ and takes HQ while the measured throughput leaves
 * {@link HQ_HEADROOM}x headroom over the HQ bitrate and a segment of HQ (`segmentSeconds` long) would
 * download within `budgetSeconds` (what the latency leaves between a segment's arrival and its turn).
 */
export function chooseStream(
  quality: Quality, throughputBps: number | undefined, hqBps: number | undefined, playable: readonly StreamName[] = ['hq', 'lq'],
  { segmentSeconds = 0, budgetSeconds = Infinity }: { segmentSeconds?: number; budgetSeconds?: number } = {},
): StreamName {
  if (playable.length === 1) return playable[0]!;
  if (quality !== 'auto') return quality;
  if (throughputBps === undefined || hqBps === undefined) return 'lq';
  return throughputBps >= HQ_HEADROOM * hqBps && (hqBps * segmentSeconds) / throughputBps <= budgetSeconds ? 'hq' : 'lq';
}

/** Weights of the newest sample in the two moving averages (the Shaka and dash.js approach). */
const FAST_WEIGHT = 0.5;
const SLOW_WEIGHT = 0.15;

/**
 * Download speed from segment downloads: the lower of a fast and a slow moving average, so the
 * estimate falls as fast as the fast one and climbs as cautiously as the slow one.
 */
export class ThroughputEstimator {
  #fast: number | undefined;
  #slow: number | undefined;

  /** Adds one download: `bytes` received in `seconds` (from request to last byte). */
  add(bytes: number, seconds: number): void {
    // A download served from cache or a clock tick of zero says nothing about the network.
    if (seconds <= 0 || bytes <= 0) return;
    const sample = (bytes * 8) / seconds;
    this.#fast = this.#fast === undefined ? sample : FAST_WEIGHT * sample + (1 - FAST_WEIGHT) * this.#fast;
    this.#slow = this.#slow === undefined ? sample : SLOW_WEIGHT * sample + (1 - SLOW_WEIGHT) * this.#slow;
  }

  /** The estimate in bits per second, undefined before the first download. */
  get bitsPerSecond(): number | undefined {
    return this.#fast === undefined || this.#slow === undefined ? undefined : Math.min(this.#fast, this.#slow);
  }
}
