import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/signals.js';
import { SampleClock } from './sample-clock.js';

const SEGMENT = 480000;
const T0 = Date.UTC(2026, 11, 1, 20, 0, 0);

/** A day of 10 s segments from a sound card `ppm` fast or slow, observed with up to 50 ms of jitter. */
function day(ppm: number) {
  const clock = new SampleClock(48000);
  const random = seededRandom(7);
  const starts: number[] = [];
  const trueStarts: number[] = [];
  for (let n = 0; n < 8640; n++) {
    const trueStart = T0 + n * 10_000 * (1 + ppm * 1e-6);
    trueStarts.push(trueStart);
    starts.push(clock.next(SEGMENT, new Date(trueStart + random() * 50)).getTime());
  }
  return { starts, trueStarts };
}

describe(SampleClock.name, () => {
  it.each([50, -50, 0])('follows a card %s ppm off UTC over a day, never stepping back, moving a segment by at most 5 ms', (ppm) => {
    const { starts, trueStarts } = day(ppm);
    const errors = starts.map((s, n) => s - trueStarts[n]!);
    // Left on the sample clock alone, a 50 ppm card is 4.3 s off after a day.
    expect(Math.max(...errors.slice(100).map(Math.abs))).toBeLessThan(80);
    for (let n = 1; n < starts.length; n++) {
      const step = starts[n]! - starts[n - 1]!;
      expect(step).toBeGreaterThanOrEqual(10_000 - 5);
      expect(step).toBeLessThanOrEqual(10_000 + 5);
    }
  });

  it('follows the sample clock exactly when the observations are the sample clock (a file)', () => {
    const clock = new SampleClock(48000);
    const starts = [0, 1, 2].map((n) => clock.next(SEGMENT, new Date(T0 + n * 10_000)).getTime());
    expect(starts).toEqual([T0, T0 + 10_000, T0 + 20_000]);
    expect(clock.next(1234, new Date(T0 + 30_000)).getTime()).toBe(T0 + 30_000);
  });
});
