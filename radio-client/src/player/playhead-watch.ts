import { positionAfterGap, type MediaSpan } from './live-edge.ts';

/** What the watch reads of a media element (tests pass plain objects). */
export interface ElementProgress {
  readonly currentTime: number;
  readonly paused: boolean;
  readonly seeking: boolean;
  /** HTMLMediaElement.readyState; below HAVE_FUTURE_DATA (3) it cannot go on. */
  readonly readyState: number;
}

/** What one look at the element found. */
export interface PlayheadReport {
  /** Seek here: the element stands at the end of a buffered range and a later one exists. */
  jumpTo: number | undefined;
  /** Playback stopped just now with nothing to jump to: the next segment is late. */
  stalled: boolean;
  /** Appended segments the playhead went past since the last look. */
  played: number;
}

const HAVE_FUTURE_DATA = 3;

/**
 * Follows a media element's playhead: `advancing` only while currentTime moves (so the state says
 * `playing` only then), stalls, gaps in the buffered timeline to jump, and appended segments played
 * through. Time is injected; no DOM here.
 */
export class PlayheadWatch {
  /** currentTime moved within the last `stallAfterMs`. */
  advancing = false;
  /** It has moved at least once since the watch began. */
  playedAny = false;
  readonly #stallAfterMs: number;
  #lastTime = 0;
  #lastAdvanceAt = -Infinity;
  #unplayed: MediaSpan[] = [];

  constructor(stallAfterMs = 750) {
    this.#stallAfterMs = stallAfterMs;
  }

  /** A segment entered the buffer at `span`; it counts as played once the playhead passes its end. */
  appended(span: MediaSpan): void {
    this.#unplayed.push(span);
  }

  /** The element moved to `position` by a seek or a new source: that is no progress, and what was appended before is gone. */
  moved(position: number, sourceReplaced = false): void {
    this.#lastTime = position;
    if (sourceReplaced) this.#unplayed = [];
  }

  /** One look at the element at time `now` (ms); `buffered` is what its SourceBuffer holds, `canJump` false while a seek is pending. */
  check(element: ElementProgress, buffered: readonly MediaSpan[], now: number, canJump = true): PlayheadReport {
    const time = element.currentTime;
    const wasAdvancing = this.advancing;
    if (time !== this.#lastTime && !element.paused && !element.seeking) {
      this.#lastAdvanceAt = now;
      this.advancing = this.playedAny = true;
    } else if (now - this.#lastAdvanceAt > this.#stallAfterMs) {
      this.advancing = false;
    }
    this.#lastTime = time;
    let jumpTo: number | undefined;
    let stalled = false;
    const cannotGoOn = element.readyState < HAVE_FUTURE_DATA || (this.playedAny && !this.advancing);
    if (!element.seeking && cannotGoOn && buffered.length > 0) {
      // Dropped segments and new runs leave gaps in the timeline, which the element does not cross.
      jumpTo = canJump ? positionAfterGap(buffered, time) : undefined;
      stalled = jumpTo === undefined && wasAdvancing && !this.advancing;
    }
    let played = 0;
    while (this.#unplayed[0] && this.#unplayed[0].end <= time + 0.001) {
      this.#unplayed.shift();
      played++;
    }
    return { jumpTo, stalled, played };
  }
}
