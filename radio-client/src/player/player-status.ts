import type { PlayerState } from './events.ts';
import type { PlayerProblem } from './player-problem.ts';

/** What the state is made of. */
export interface StatusInputs {
  /** A listening session runs (Play was pressed). */
  listening: boolean;
  /** The station is off air, unreachable, or its manifest cannot be read. */
  stationProblem?: PlayerProblem | undefined;
  /** A segment could not be played, or the player itself failed. */
  segmentProblem?: PlayerProblem | undefined;
  /** The browser would not let the element play, or the sound's AudioContext is suspended. */
  blocked: boolean;
  /** The element's currentTime moves. */
  advancing: boolean;
  /** It has moved since Play. */
  playedAny: boolean;
}

/** The state the listener sees, why (offline and error), and whether loading means a stall. */
export interface PlayerStatus {
  state: PlayerState;
  problem: PlayerProblem | undefined;
  buffering: boolean;
}

/**
 * The listener's state from what the player knows, most telling first: idle; the station's problem
 * (off air, an error); sound the browser holds back (the listener has to tap); a segment's problem;
 * playing only while the element advances, else loading (buffering once it had played).
 */
export function playerStatus(i: StatusInputs): PlayerStatus {
  if (!i.listening) return { state: 'idle', problem: undefined, buffering: false };
  const station = i.stationProblem;
  if (station) return { state: station.offline ? 'offline' : 'error', problem: station, buffering: false };
  if (i.blocked) return { state: 'blocked', problem: undefined, buffering: false };
  const segment = i.segmentProblem;
  if (segment) return { state: segment.offline ? 'offline' : 'error', problem: segment, buffering: false };
  if (i.advancing) return { state: 'playing', problem: undefined, buffering: false };
  return { state: 'loading', problem: undefined, buffering: i.playedAny };
}

/**
 * Notices a player stuck loading: true once `loading` has held, without a break, for longer than
 * `limitMs` (then it starts counting again). Time is injected.
 */
export class LoadingWatchdog {
  #since: number | undefined;

  /** One look at time `now` (ms): whether the player loads (no problem known, nothing plays); true when stuck. */
  stuck(loading: boolean, now: number, limitMs: number): boolean {
    if (!loading) {
      this.#since = undefined;
      return false;
    }
    this.#since ??= now;
    if (now - this.#since <= limitMs) return false;
    this.#since = now;
    return true;
  }
}
