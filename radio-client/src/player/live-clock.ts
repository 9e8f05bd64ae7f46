import type { Manifest } from '@radio/protocol';
import { segmentSpan } from './live-edge.ts';

/**
 * Where the live edge is now, on the media timeline, from when new segments were first seen on this
 * machine's clock. A segment that ends at media time `end` and is first seen at local time `t` says
 * that the edge moves as `end + (now - t)`, or ahead of that (it may have been published before the
 * poll that saw it). An early one of the recent arrivals (one that 30 % of them beat) is the
 * estimate: a segment published late (a slow upload) never pulls the edge back, and the listener's
 * margin need only cover how much later than that early one a segment may come.
 *
 * A segment seen arriving (the poll before did not list it) arrived since that poll; within that
 * span the wall clocks place it (the manifest's `updatedAt`, the station's UTC, against `Date.now()`).
 *
 * Until a segment has been seen arriving, the first sighting may be
 * up to a segment late. Then the wall clocks help, when they agree: the manifest's `updatedAt`
 * (the station's UTC) against `Date.now()` says how long ago it was written. That seed steers the
 * join only; the polls that look for the first arrival never wait on it.
 */
export class LiveClock {
  readonly #keep: number;
  /** `end - arrivedAt` of recent arrivals, in seconds (media time minus local time). */
  #arrivals: number[] = [];
  /** The same of the sightings before the first arrival (lower bounds: each may have been seen late). */
  #sightings: number[] = [];
  #seed: number | undefined;
  #arrived = false;
  #newest: { seq: number; init: string; end: number } | undefined;
  #lastPollAt: number | undefined;
  #segmentSeconds = 0;
  /** Seconds from the end of recent newest segments to the writing of their manifests (station clock). */
  #publishDelays: number[] = [];

  /** `keep`: arrivals the estimate is taken from (older ones age out, as the sound card drifts). */
  constructor(keep = 20) {
    this.#keep = keep;
  }

  /** Forgets everything (a new listening session). */
  reset(): void {
    this.#sightings = [];
    this.#arrivals = [];
    this.#publishDelays = [];
    this.#seed = this.#newest = this.#lastPollAt = undefined;
    this.#arrived = false;
  }

  /**
   * A live manifest fetched at local time `now` (ms, the monotonic clock) when the wall clock said
   * `wallNow` (ms since 1970). A new run (another init, or a timeline that went back) starts afresh.
   */
  observe(manifest: Manifest, now: number, wallNow: number): void {
    const newest = manifest.streams.lq.segments.at(-1);
    if (!newest) return;
    const { end } = segmentSpan(newest, manifest);
    const previous = this.#newest;
    const newRun = previous !== undefined && (newest.init !== previous.init || end < previous.end);
    if (newRun) this.reset();
    this.#segmentSeconds = manifest.segmentSeconds;
    if (previous === undefined || newRun || newest.seq !== previous.seq) {
      // Seen arriving: the poll before, not long ago, did not list it. It arrived since that poll;
      // when, the wall clocks may tell (trusted only within that span, so a wrong one cannot mislead).
      const sincePoll = this.#lastPollAt === undefined ? Infinity : now - this.#lastPollAt;
      const arrived = !newRun && previous !== undefined && sincePoll <= arrivalWindowMs(manifest.segmentSeconds);
      const lag = arrived ? Math.min(Math.max(0, wallNow - Date.parse(manifest.updatedAt)), sincePoll) : 0;
      const sighting = end - (now - lag) / 1000;
      this.#arrived ||= arrived;
      if (arrived) this.#arrivals = [...this.#arrivals, sighting].slice(-this.#keep);
      else this.#sightings = [...this.#sightings, sighting].slice(-this.#keep);
      if (!this.#arrived && this.#sightings.length === 1) this.#seed = clockSeed(manifest, end, now, wallNow);
      this.#newest = { seq: newest.seq, init: newest.init, end };
      const wallEnd = Date.parse(newest.startedAt) + (newest.samples / manifest.sampleRate) * 1000;
      const delay = Math.min(Math.max(0, (Date.parse(manifest.updatedAt) - wallEnd) / 1000), manifest.segmentSeconds);
      this.#publishDelays = [...this.#publishDelays, delay].slice(-this.#keep);
    }
    this.#lastPollAt = now;
  }

  /** True once a segment has been seen arriving (the estimate no longer leans on the wall clocks). */
  get arrived(): boolean {
    return this.#arrived;
  }

  /** The media time of the live edge at local time `now` (ms), or undefined before the first manifest. */
  edgeAt(now: number): number | undefined {
    const offset = this.#offset(true);
    return offset === undefined ? undefined : now / 1000 + offset;
  }

  /**
   * Local time (ms) at which the segment after the newest is due, going by sightings alone; undefined
   * until one was seen arriving (before that, a sighting may be a segment late, and polls that went
   * by it would never see one arrive).
   */
  nextDueAt(): number | undefined {
    const offset = this.#offset(false);
    if (offset === undefined || !this.#newest || !this.#arrived) return undefined;
    return (this.#newest.end + this.#segmentSeconds - offset) * 1000;
  }

  /** Seconds from the end of a segment to the writing of its manifest, by the station's clock (the median of recent ones). */
  get publishDelay(): number {
    return this.#publishDelays.length ? median(this.#publishDelays) : 0;
  }

  #offset(withSeed: boolean): number | undefined {
    if (this.#arrivals.length > 0) return earlyPercentile(this.#arrivals);
    if (this.#sightings.length === 0) return undefined;
    const earliest = Math.max(...this.#sightings);
    return withSeed && this.#seed !== undefined ? Math.max(earliest, this.#seed) : earliest;
  }
}

/**
 * The arrival that 30 % of the recent ones beat (offsets are media minus local time: the larger, the
 * earlier): the earliest of up to four, so that a late segment or two never moves the edge back; with
 * more, a few early flukes do not move it ahead either.
 */
function earlyPercentile(offsets: readonly number[]): number {
  const earliestFirst = [...offsets].sort((a, b) => b - a);
  return earliestFirst[Math.floor(0.3 * (earliestFirst.length - 1))]!;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A sighting counts as an arrival when the poll before it was at most this long before (ms). */
function arrivalWindowMs(segmentSeconds: number): number {
  return Math.min(1500, segmentSeconds * 500);
}

/**
 * The offset the wall clocks give (see {@link LiveClock}), when they agree: the manifest was written
 * between now and a segment (plus a second) ago. Undefined otherwise.
 */
function clockSeed(manifest: Manifest, end: number, now: number, wallNow: number): number | undefined {
  const age = (wallNow - Date.parse(manifest.updatedAt)) / 1000;
  if (!(age >= -0.5 && age <= manifest.segmentSeconds + 1)) return undefined;
  return end - (now / 1000 - Math.max(0, age));
}
