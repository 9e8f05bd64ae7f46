import { describe, expect, it } from 'vitest';
import { problem } from './player-problem.ts';
import { LoadingWatchdog, playerStatus, type StatusInputs } from './player-status.ts';

const base: StatusInputs = { listening: true, blocked: false, advancing: false, playedAny: false };
const offAir = problem('off-air', 'Off air: the station is not broadcasting right now.');
const missing = problem('segment-missing', 'The lq segment 7 took longer than 4 s to download.');

describe(playerStatus.name, () => {
  it('is idle before Play, loading until the element moves, playing while it does, buffering when it stalls after', () => {
    expect(playerStatus({ ...base, listening: false, advancing: true }).state).toBe('idle');
    expect(playerStatus(base)).toEqual({ state: 'loading', problem: undefined, buffering: false });
    expect(playerStatus({ ...base, advancing: true, playedAny: true }).state).toBe('playing');
    expect(playerStatus({ ...base, playedAny: true })).toEqual({ state: 'loading', problem: undefined, buffering: true });
  });

  it('shows sound held back by the browser as blocked, never as playing, even while the element moves', () => {
    expect(playerStatus({ ...base, blocked: true, advancing: true, playedAny: true })).toEqual({ state: 'blocked', problem: undefined, buffering: false });
  });

  it("puts the station's problem first, then a block, then a segment's problem", () => {
    expect(playerStatus({ ...base, blocked: true, stationProblem: offAir, segmentProblem: missing })).toEqual({ state: 'offline', problem: offAir, buffering: false });
    expect(playerStatus({ ...base, blocked: true, segmentProblem: missing }).state).toBe('blocked');
    expect(playerStatus({ ...base, advancing: true, segmentProblem: missing })).toEqual({ state: 'error', problem: missing, buffering: false });
  });
});

describe(LoadingWatchdog.name, () => {
  it('fires once loading has lasted longer than the limit without a break, then counts again', () => {
    const watchdog = new LoadingWatchdog();
    const looks = [0, 4000, 8000, 8250, 12000, 16300].map((t) => watchdog.stuck(true, t, 8000));
    expect(looks).toEqual([false, false, false, true, false, true]);
  });

  it('starts over whenever loading ends', () => {
    const watchdog = new LoadingWatchdog();
    expect(watchdog.stuck(true, 0, 8000)).toBe(false);
    expect(watchdog.stuck(false, 7000, 8000)).toBe(false);
    expect(watchdog.stuck(true, 7500, 8000)).toBe(false);
    expect(watchdog.stuck(true, 15000, 8000)).toBe(false);
    expect(watchdog.stuck(true, 15600, 8000)).toBe(true);
  });
});
