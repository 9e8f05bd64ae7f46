import { describe, expect, it } from 'vitest';
import { initKey, segmentKey, type Manifest } from '@radio/protocol';
import { LiveClock } from './live-clock.ts';

const S = 2;
/** The station's segment N ends at media time 2(N + 1) s, which is also its wall-clock time (s since 1970). */
const WALL_ZERO = 0;
/** This machine's monotonic clock reads wall time minus this (ms). */
const MONOTONIC_BEHIND = 1_796_000_000_000;
/** The station writes the manifest of segment N this long after the segment's end. */
const PUBLISH_DELAY = 0.2;

function manifest(newest: number, run = 1): Manifest {
  const end = (newest + 1) * S;
  const entry = { seq: newest, msn: newest, uri: segmentKey('lq', newest), init: initKey('lq', run), samples: S * 48000, startedAt: new Date((end - S) * 1000).toISOString(), bytes: 1, discontinuity: false };
  return {
    segmentSeconds: S, sampleRate: 48000, updatedAt: new Date((end + PUBLISH_DELAY) * 1000).toISOString(),
    streams: { lq: { segments: [entry] }, hq: { segments: [entry] } },
  } as unknown as Manifest;
}

/** Publication time of segment N, on the monotonic clock (ms). */
const published = (n: number) => ((n + 1) * S + PUBLISH_DELAY) * 1000 - MONOTONIC_BEHIND;
/** Wall clock for a monotonic reading, with this machine's clock `skew` ms off. */
const wall = (now: number, skew = 0) => now + MONOTONIC_BEHIND + WALL_ZERO + skew;
const N = 898_000_000;

describe(LiveClock.name, () => {
  it('places the edge from the wall clocks when they agree, before any arrival was seen', () => {
    const clock = new LiveClock();
    // Joined 1.3 s after segment N was published.
    const now = published(N) + 1300;
    clock.observe(manifest(N), now, wall(now));
    expect(clock.arrived).toBe(false);
    // The edge as segments arrive: the newest end plus the time since its manifest was written.
    expect(clock.edgeAt(now)).toBeCloseTo((N + 1) * S + 1.3, 3);
    // Polls go by arrivals alone, and none was seen yet.
    expect(clock.nextDueAt()).toBeUndefined();
    expect(clock.publishDelay).toBeCloseTo(PUBLISH_DELAY, 3);
  });

  it('ignores wall clocks that disagree: then the first sighting is all it has', () => {
    const clock = new LiveClock();
    const now = published(N) + 1300;
    clock.observe(manifest(N), now, wall(now, 5 * 60_000));
    expect(clock.edgeAt(now)).toBeCloseTo((N + 1) * S, 3);
  });

  it('drops the seed once it saw a segment arrive, placing the arrival by the wall clocks within the time since the poll before', () => {
    for (const [skew, seen] of [[0, 0.1], [800, 0.25], [-800, 0]] as const) {
      const clock = new LiveClock();
      let now = published(N) + 1300;
      clock.observe(manifest(N), now, wall(now, skew));
      // Polls 250 ms apart around the due time: N + 1 shows up 100 ms after it was published.
      now = published(N + 1) - 150;
      clock.observe(manifest(N), now, wall(now, skew));
      now += 250;
      clock.observe(manifest(N + 1), now, wall(now, skew));
      expect(clock.arrived).toBe(true);
      // Right clocks place it 100 ms before the sighting; wrong ones by at most the 250 ms since the poll before.
      expect(clock.edgeAt(now)).toBeCloseTo((N + 2) * S + seen, 3);
      expect(clock.nextDueAt()).toBeCloseTo(now - seen * 1000 + S * 1000, 3);
    }
  });

  it('takes an early one of the recent arrivals, so that late segments never pull the edge back', () => {
    const clock = new LiveClock();
    // A wall clock 5 minutes slow: no seed, and arrivals placed where they were seen.
    const skew = -5 * 60_000;
    let now = published(N) + 1300;
    clock.observe(manifest(N), now, wall(now, skew));
    expect(clock.edgeAt(now)).toBeCloseTo((N + 1) * S, 3);
    // Seen 100, 20 and 180 ms after they were published: of three, the earliest.
    for (const [i, late] of [100, 20, 180].entries()) {
      now = published(N + 1 + i) + late - 250;
      clock.observe(manifest(N + i), now, wall(now, skew));
      now += 250;
      clock.observe(manifest(N + 1 + i), now, wall(now, skew));
    }
    expect(clock.edgeAt(now)).toBeCloseTo((N + 4) * S + 0.16, 3);
    expect(clock.nextDueAt()).toBeCloseTo(published(N + 4) + 20, 3);
    // A segment 3 s late changes nothing.
    now = published(N + 4) + 3000 - 250;
    clock.observe(manifest(N + 3), now, wall(now, skew));
    now += 250;
    clock.observe(manifest(N + 4), now, wall(now, skew));
    expect(clock.nextDueAt()).toBeCloseTo(published(N + 5) + 20, 3);
    // A poll that finds the newest at once (it was there already) is no arrival: it changes nothing.
    now = published(N + 5) + 3000;
    clock.observe(manifest(N + 5), now, wall(now, skew));
    expect(clock.edgeAt(now)).toBeCloseTo((N + 6) * S + 2.98, 3);
  });

  it('forgets arrivals older than the last `keep` (a station whose sound card runs slow)', () => {
    const clock = new LiveClock(3);
    let now = 0;
    for (let i = 0; i < 6; i++) {
      // Each segment is seen 100 ms later than the one before, relative to its end.
      now = published(N + i) + 100 * i;
      if (i > 0) clock.observe(manifest(N + i - 1), now - 250, wall(now - 250, -60_000));
      clock.observe(manifest(N + i), now, wall(now, -60_000));
    }
    // The arrivals of segments 3, 4 and 5, seen 300, 400 and 500 ms late: the earliest of them, 300.
    expect(clock.edgeAt(now)).toBeCloseTo((N + 6) * S + 0.2, 3);
  });

  it('starts afresh on a new run', () => {
    const clock = new LiveClock();
    let now = published(N) + 100;
    clock.observe(manifest(N), now, wall(now));
    // The station restarts 1000 segments later on the timeline, as a run of its own.
    now += 30_000;
    clock.observe(manifest(N + 1000, N + 1000), now, wall(now, 10 * 60_000));
    expect(clock.arrived).toBe(false);
    expect(clock.edgeAt(now)).toBeCloseTo((N + 1001) * S, 3);
  });

  it('knows nothing before the first manifest', () => {
    const clock = new LiveClock();
    expect(clock.edgeAt(0)).toBeUndefined();
    expect(clock.nextDueAt()).toBeUndefined();
  });
});
