import { describe, expect, it } from 'vitest';
import { LATENCY_POLICY, LatencyControl } from './latency-control.ts';

const S = 2;
const POLL = () => 0.25;

/** Plays `seconds` of wall time in 250 ms looks at the element, the edge moving at 1x and the playhead at the rate the control sets. */
function run(control: LatencyControl, start: { position: number; edge: number }, seconds: number, slowCard = 1) {
  let { position, edge } = start;
  let rate = 1;
  const rates: number[] = [];
  const errors: number[] = [];
  for (let t = 0; t < seconds; t += 0.25) {
    position += 0.25 * rate * slowCard;
    edge += 0.25;
    const action = control.update({ position, playing: true, placed: false }, edge, S);
    if (action.seekTo !== undefined) position = action.seekTo;
    rate = action.rate;
    rates.push(rate);
    errors.push(position - (edge - control.latency(S)));
  }
  return { rates, errors, position, edge };
}

describe(LatencyControl.name, () => {
  it('aims at one segment, the margin and a poll behind the edge', () => {
    expect(new LatencyControl(POLL).latency(2)).toBe(2 + LATENCY_POLICY.marginSeconds + 0.25);
    expect(new LatencyControl(() => 1).latency(10)).toBe(12);
  });

  it('leaves a listener on target alone', () => {
    const control = new LatencyControl(POLL);
    const { rates } = run(control, { position: 100 - control.latency(S) + 0.3, edge: 100 }, 60);
    expect(new Set(rates)).toEqual(new Set([1]));
  });

  it('catches up 1.5 s at 1.02 and stops on target, within 0.1 s, without overshooting', () => {
    const control = new LatencyControl(POLL);
    const { rates, errors } = run(control, { position: 100 - control.latency(S) - 1.5, edge: 100 }, 120);
    expect(rates[0]).toBe(1.02);
    // 1.5 s at 2 % takes 75 s; then it plays at 1x.
    const settled = rates.lastIndexOf(1.02) + 1;
    expect(settled * 0.25).toBeGreaterThan(65);
    expect(settled * 0.25).toBeLessThan(75);
    expect(rates.slice(settled).every((r) => r === 1)).toBe(true);
    expect(Math.abs(errors.at(-1)!)).toBeLessThan(0.1);
    expect(Math.max(...errors)).toBeLessThan(0.1);
  });

  it('falls back at 0.98 when ahead', () => {
    const control = new LatencyControl(POLL);
    const { rates, errors } = run(control, { position: 100 - control.latency(S) + 0.8, edge: 100 }, 60);
    expect(rates[0]).toBe(0.98);
    expect(Math.abs(errors.at(-1)!)).toBeLessThan(0.1);
  });

  it('holds within 1 s over an hour of a sound card 0.1 % slow, at 1.02 now and then', () => {
    const control = new LatencyControl(POLL);
    const { rates, errors } = run(control, { position: 100 - control.latency(S), edge: 100 }, 3600, 0.999);
    expect(Math.max(...errors.map(Math.abs))).toBeLessThan(1);
    expect(rates.filter((r) => r === 1.02).length).toBeGreaterThan(0);
    expect(rates.filter((r) => r === 1).length).toBeGreaterThan(rates.length / 2);
  });

  it('moves a listener more than a segment and 4 s behind to the target', () => {
    const control = new LatencyControl(POLL);
    const target = 100 - control.latency(S);
    expect(control.update({ position: target - 6.1, playing: true, placed: false }, 100, S)).toEqual({ rate: 1, seekTo: target, hold: false });
    expect(control.update({ position: target - 5.9, playing: true, placed: false }, 100, S).seekTo).toBeUndefined();
  });

  it('holds a playhead just placed ahead of its target, until the target reaches it', () => {
    const control = new LatencyControl(POLL);
    const target = 100 - control.latency(S);
    expect(control.update({ position: target + 1.3, playing: false, placed: true }, 100, S)).toEqual({ rate: 1, hold: true });
    expect(control.update({ position: target + 1.3, playing: false, placed: true }, 101.25, S)).toEqual({ rate: 1, hold: false });
  });

  it('moves a playhead placed but not started yet (the sound device opening) on to its target, rather than catching up later', () => {
    const control = new LatencyControl(POLL);
    const target = 100 - control.latency(S);
    expect(control.update({ position: target - 0.15, playing: false, placed: true }, 100, S)).toEqual({ rate: 1, hold: false });
    expect(control.update({ position: target - 0.25, playing: false, placed: true }, 100, S)).toEqual({ rate: 1, seekTo: target, hold: false });
  });

  it('does not correct while the element stands still', () => {
    const control = new LatencyControl(POLL);
    expect(control.update({ position: 50, playing: false, placed: false }, 100, S)).toEqual({ rate: 1, hold: false });
  });

  it('adds half a second of margin per stall, up to one segment', () => {
    const control = new LatencyControl(POLL);
    const base = control.latency(S);
    control.stalled(S);
    expect(control.latency(S)).toBe(base + 0.5);
    for (let i = 0; i < 10; i++) control.stalled(S);
    expect(control.latency(S)).toBe(base + S);
  });
});
