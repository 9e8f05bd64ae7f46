import { describe, expect, it } from 'vitest';
import { PlayheadWatch, type ElementProgress } from './playhead-watch.ts';

const playing = (currentTime: number): ElementProgress => ({ currentTime, paused: false, seeking: false, readyState: 4 });
const starved = (currentTime: number): ElementProgress => ({ currentTime, paused: false, seeking: false, readyState: 2 });
const buffered = [{ start: 10, end: 14 }];

describe(PlayheadWatch.name, () => {
  it('is advancing only while currentTime moves, and not after a seek', () => {
    const watch = new PlayheadWatch(750);
    watch.moved(10);
    watch.check(starved(10), buffered, 0);
    expect(watch.advancing).toBe(false);
    watch.check(playing(10.25), buffered, 250);
    expect(watch).toMatchObject({ advancing: true, playedAny: true });
    watch.check(playing(10.25), buffered, 750);
    expect(watch.advancing).toBe(true);
    watch.check(playing(10.25), buffered, 1001);
    expect(watch.advancing).toBe(false);
    watch.moved(12);
    watch.check({ ...playing(12), seeking: true }, buffered, 1250);
    expect(watch.advancing).toBe(false);
  });

  it('jumps a gap in the timeline instead of counting a stall', () => {
    const watch = new PlayheadWatch(750);
    const gap = [{ start: 10, end: 14 }, { start: 20, end: 24 }];
    watch.check(playing(13), gap, 0);
    watch.check(playing(13.96), gap, 250);
    // Chromium stops a few tens of ms before the end of a range with a hole after it.
    expect(watch.check(starved(13.96), gap, 500)).toMatchObject({ jumpTo: 20, stalled: false });
    // Not while a seek is pending.
    expect(watch.check(starved(13.96), gap, 600, false).jumpTo).toBeUndefined();
  });

  it('reports a stall once when playback stops with nothing to jump to', () => {
    const watch = new PlayheadWatch(750);
    watch.check(playing(13), buffered, 0);
    watch.check(playing(13.96), buffered, 250);
    expect(watch.check(starved(13.96), buffered, 500).stalled).toBe(false);
    expect(watch.check(starved(13.96), buffered, 1001).stalled).toBe(true);
    expect(watch.check(starved(13.96), buffered, 1250).stalled).toBe(false);
  });

  it('counts appended segments as played once the playhead passes their end, forgetting those of a replaced source', () => {
    const watch = new PlayheadWatch();
    watch.appended({ start: 10, end: 12 });
    watch.appended({ start: 12, end: 14 });
    expect(watch.check(playing(11), buffered, 0).played).toBe(0);
    expect(watch.check(playing(12), buffered, 250).played).toBe(1);
    watch.moved(0, true);
    expect(watch.check(playing(14), buffered, 500).played).toBe(0);
  });
});
