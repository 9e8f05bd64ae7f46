import { describe, expect, it } from 'vitest';
import { AudioScheduler, type SegmentBoundary } from './audio-scheduler.ts';

const RATE = 48000;

interface FakeBuffer {
  length: number;
  sampleRate: number;
}

class FakeSource {
  buffer: FakeBuffer | null = null;
  onended: (() => void) | null = null;
  startedAt: number | undefined;
  stopped = false;
  connected = false;
  connect() {
    this.connected = true;
  }
  disconnect() {
    this.connected = false;
  }
  start(when: number) {
    this.startedAt = when;
  }
  stop() {
    this.stopped = true;
  }
}

/** An AudioContext stand-in whose clock the test moves; sources end when the clock passes them. */
class FakeContext {
  currentTime = 0;
  readonly sampleRate = RATE;
  readonly sources: FakeSource[] = [];
  createBufferSource() {
    const source = new FakeSource();
    this.sources.push(source);
    return source;
  }
  advanceTo(seconds: number) {
    this.currentTime = seconds;
    for (const s of this.sources) {
      const end = s.startedAt !== undefined && s.buffer ? s.startedAt + s.buffer.length / RATE : Infinity;
      if (end <= seconds) s.onended?.();
    }
  }
}

function setup() {
  const context = new FakeContext();
  const scheduler = new AudioScheduler<FakeBuffer>(context, {}, { startLeadSeconds: 0.05 });
  let seq = 0;
  const add = (frames: number, boundary: SegmentBoundary = seq === 0 ? 'start' : 'continuous') =>
    scheduler.schedule({ length: frames, sampleRate: RATE }, { seq: seq++, startedAtMs: 1_000_000 + seq * 2000, boundary });
  return { context, scheduler, add };
}

describe(AudioScheduler.name, () => {
  it('starts consecutive segments exactly back to back, in whole samples, without drift', () => {
    const { context, add } = setup();
    context.currentTime = 0.123456;
    // Odd lengths (the last segment of a run can be short) would show any float accumulation.
    const lengths = [96000, 95999, 96001, 12345, 96000, 96000, 1, 96000];
    const starts = lengths.map((frames) => add(frames));
    const startFrames = starts.map((t) => t * RATE);
    for (const f of startFrames) expect(Math.abs(f - Math.round(f))).toBeLessThan(1e-6);
    for (let i = 1; i < lengths.length; i++) {
      expect(Math.round(startFrames[i]!) - Math.round(startFrames[i - 1]!)).toBe(lengths[i - 1]);
    }
    expect(starts[0]).toBeGreaterThanOrEqual(0.123456 + 0.05);
  });

  it('counts an underrun and starts a new run ahead of now when a segment arrives after its slot', () => {
    const { context, scheduler, add } = setup();
    add(96000);
    context.advanceTo(2.5);
    const start = add(96000);
    expect(scheduler.stats.underruns).toBe(1);
    expect(start).toBeCloseTo(2.55, 4);
    const next = add(96000);
    expect(next - start).toBeCloseTo(2, 9);
    expect(scheduler.stats.underruns).toBe(1);
  });

  it('resynchronises at a discontinuity or gap without cutting queued audio, and counts each', () => {
    const { context, scheduler, add } = setup();
    const first = add(96000);
    const afterDiscontinuity = add(96000, 'discontinuity');
    expect(afterDiscontinuity - first).toBeCloseTo(2, 9);
    context.advanceTo(10);
    const afterGap = add(96000, 'gap');
    expect(afterGap).toBeCloseTo(10.05, 4);
    expect(scheduler.stats).toEqual({ segmentsPlayed: 2, underruns: 0, gaps: 1, discontinuities: 1 });
  });

  it('releases each buffer once it has played, so memory does not grow', () => {
    const { context, scheduler, add } = setup();
    for (let i = 0; i < 1000; i++) {
      add(96000);
      context.advanceTo(context.currentTime + 2);
      expect(scheduler.heldSegments).toBeLessThanOrEqual(2);
    }
    const played = context.sources.filter((s) => s.startedAt! + 2 <= context.currentTime);
    expect(played.length).toBeGreaterThan(990);
    for (const s of played) {
      expect(s.buffer).toBeNull();
      expect(s.connected).toBe(false);
    }
    expect(scheduler.stats.segmentsPlayed).toBe(played.length);
    expect(scheduler.stats.underruns).toBe(0);
  });

  it('reports buffered seconds and the station time playing now', () => {
    const { context, scheduler, add } = setup();
    const start = add(96000);
    add(96000);
    context.advanceTo(start + 0.5);
    expect(scheduler.bufferedSeconds).toBeCloseTo(3.5, 6);
    // The first segment's station time is 1_002_000 ms (see setup); half a second in.
    expect(scheduler.playheadStationTimeMs).toBeCloseTo(1_002_500, 3);
  });

  it('stops every source and releases it without counting it as played', () => {
    const { context, scheduler, add } = setup();
    add(96000);
    add(96000);
    scheduler.stop();
    expect(context.sources.every((s) => s.stopped && s.buffer === null)).toBe(true);
    expect(scheduler.stats.segmentsPlayed).toBe(0);
    expect(scheduler.bufferedSeconds).toBe(0);
    context.currentTime = 7;
    expect(add(96000, 'start')).toBeCloseTo(7.05, 4);
  });

  it('refuses a buffer decoded at another rate than the context', () => {
    const { scheduler } = setup();
    expect(() => scheduler.schedule({ length: 1, sampleRate: 44100 }, { seq: 0, startedAtMs: 0, boundary: 'start' })).toThrow(/44100 Hz/);
  });
});
