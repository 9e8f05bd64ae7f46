/**
 * How far behind the live edge the player plays, and how it stays there: the same distance for every
 * listener, whenever they pressed Play. Small errors (a stall, a sound card a little slow) are made
 * good gently, by playing 2 % faster or slower; a listener far behind is moved.
 */

/** The numbers, as data. */
export interface LatencyPolicy {
  /** Seconds behind the edge beyond one segment: the next segment's poll, download and a safety margin. */
  marginSeconds: number;
  /** A correction starts beyond this error (seconds) and stops within `releaseSeconds`. */
  engageSeconds: number;
  releaseSeconds: number;
  /** playbackRate while behind, and while ahead. */
  catchUpRate: number;
  fallBackRate: number;
  /** Further behind than this many seconds plus a segment, the playhead is moved instead (counted as a gap). */
  seekBehindSeconds: number;
  /** Each stall (a segment arrived too late for this listener) adds this much margin, up to one segment. */
  stallMarginSeconds: number;
  /** A playhead placed but not moving yet is moved on when this far behind its target. */
  startSlackSeconds: number;
}

export const LATENCY_POLICY: LatencyPolicy = {
  marginSeconds: 1,
  engageSeconds: 0.5,
  releaseSeconds: 0.1,
  catchUpRate: 1.02,
  fallBackRate: 0.98,
  seekBehindSeconds: 4,
  stallMarginSeconds: 0.5,
  startSlackSeconds: 0.2,
};

/** What to do now. */
export interface LatencyAction {
  /** The element's playbackRate. */
  rate: number;
  /** Move the playhead here (when it is buffered). */
  seekTo?: number;
  /** Keep the element paused: it is ahead of its place (a new run began later than the listener's place). */
  hold: boolean;
}

/** Where the playhead is, and whether it moves. */
export interface PlayheadState {
  position: number;
  /** The element is advancing. */
  playing: boolean;
  /** The element was just placed (a join, a jump over a gap) and has not moved since. */
  placed: boolean;
}

/**
 * The latency policy of one listening session: the distance behind the edge it aims at
 * ({@link latency}) and, at each look at the element, the rate (or move) that keeps it there.
 */
export class LatencyControl {
  readonly #policy: LatencyPolicy;
  readonly #pollSeconds: (segmentSeconds: number) => number;
  #extra = 0;
  /** +1 while catching up, -1 while falling back, 0 otherwise. */
  #correcting = 0;

  /** `pollSeconds`: how late after its arrival a segment may be seen (the manifest poll's retry interval), by segment length. */
  constructor(pollSeconds: (segmentSeconds: number) => number, policy: LatencyPolicy = LATENCY_POLICY) {
    this.#policy = policy;
    this.#pollSeconds = pollSeconds;
  }

  /** Seconds behind the live edge this session aims at. */
  latency(segmentSeconds: number): number {
    return segmentSeconds + this.#policy.marginSeconds + this.#pollSeconds(segmentSeconds) + this.#extra;
  }

  /** The element stalled waiting for a segment: this listener needs more margin (up to one segment more). */
  stalled(segmentSeconds: number): void {
    this.#extra = Math.min(segmentSeconds, this.#extra + this.#policy.stallMarginSeconds);
  }

  /** One look at the element, with the live edge (media seconds) now. */
  update(playhead: PlayheadState, edge: number, segmentSeconds: number): LatencyAction {
    const p = this.#policy;
    const target = edge - this.latency(segmentSeconds);
    const error = playhead.position - target;
    if (playhead.placed) {
      // Not heard yet: wait when ahead; when the element is slow to start (opening the sound device can
      // take a second), move it on, so that it starts where it should rather than catch up for a minute.
      if (error < -p.startSlackSeconds) return { rate: 1, seekTo: target, hold: false };
      return { rate: 1, hold: error > p.releaseSeconds };
    }
    if (!playhead.playing) {
      this.#correcting = 0;
      return { rate: 1, hold: false };
    }
    if (error < -(segmentSeconds + p.seekBehindSeconds)) {
      this.#correcting = 0;
      return { rate: 1, seekTo: target, hold: false };
    }
    if (Math.abs(error) > p.engageSeconds) this.#correcting = error < 0 ? 1 : -1;
    // Close enough, or past the target (a correction never overshoots into the other).
    else if (Math.abs(error) < p.releaseSeconds || this.#correcting * error > 0) this.#correcting = 0;
    const rate = this.#correcting > 0 ? p.catchUpRate : this.#correcting < 0 ? p.fallBackRate : 1;
    return { rate, hold: false };
  }
}
