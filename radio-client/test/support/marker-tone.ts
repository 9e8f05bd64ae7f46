import type { StationMaterial } from './station-material.ts';

/**
 * A station input that says when it was captured: silence with a burst of 997 Hz at the start of
 * every second of the sample clock, whose length tells which second it is (20 ms + 8 ms for each
 * step of the second modulo 32). The live station's sample clock is the wall clock (segment N covers
 * [N, N + 1) segment lengths since 1970), so a burst heard at wall time T, coding second s, was
 * captured at s: the glass-to-ear latency is T - s, for any latency under 32 s.
 */

export const MARKER_HZ = 997;
export const MARKER_PEAK = 0.25;
const RATE = 48000;
const MODULUS = 32;
const BASE_MS = 20;
const STEP_MS = 8;

function burstMs(second: number): number {
  return BASE_MS + STEP_MS * (second % MODULUS);
}

/** The marker signal cut into `segmentSeconds` segments, stereo 48 kHz 16-bit. */
export function markerMaterial(segmentSeconds: number, station = 'Loopback FM'): StationMaterial {
  const format = { sampleRate: RATE, channels: 2, bitsPerSample: 16 } as const;
  const amplitude = MARKER_PEAK * 32767;
  return {
    description: { station, segmentSeconds, format, opusBitrate: 128000 },
    format,
    segmentFrames: segmentSeconds * RATE,
    pcm(startFrame, frames) {
      const samples = new Int32Array(frames * 2);
      for (let i = 0; i < frames; i++) {
        const frame = startFrame + i;
        const second = Math.floor(frame / RATE);
        const inBurst = frame - second * RATE < (burstMs(second) * RATE) / 1000;
        const value = inBurst ? Math.round(amplitude * Math.sin((2 * Math.PI * MARKER_HZ * frame) / RATE)) : 0;
        samples[2 * i] = samples[2 * i + 1] = value;
      }
      return samples;
    },
  };
}

/** One burst heard: when (wall clock, ms) and the second it was captured in. */
export interface HeardMarker {
  heardAt: number;
  capturedAt: number;
  /** heardAt - capturedAt, in seconds. */
  latency: number;
}

/**
 * The bursts in a recording whose first sample was played at wall time `startedAt` (ms). Only
 * bursts whose length is a code, followed a second later by the burst of the next second, count: a
 * burst cut short by the start or end of playback is neither.
 */
export function heardMarkers(samples: Float32Array, startedAt: number, sampleRate = RATE): HeardMarker[] {
  const block = sampleRate / 1000;
  const threshold = (0.3 * MARKER_PEAK) / Math.SQRT2;
  const bursts: Array<{ onset: number; ms: number }> = [];
  let onset = -1;
  for (let b = 0; (b + 1) * block <= samples.length; b++) {
    let sum = 0;
    for (let n = b * block; n < (b + 1) * block; n++) sum += samples[n]! * samples[n]!;
    const on = Math.sqrt(sum / block) > threshold;
    if (on && onset < 0) onset = b;
    if (!on && onset >= 0) {
      // The burst's first sample: the first one above half its peak in the first block.
      let first = onset * block;
      while (first < (onset + 1) * block && Math.abs(samples[first]!) < MARKER_PEAK / 2) first++;
      bursts.push({ onset: first, ms: b - onset });
      onset = -1;
    }
  }
  const decoded = bursts.map(({ onset, ms }) => {
    const code = Math.round((ms - BASE_MS) / STEP_MS);
    const heardAt = startedAt + (onset / sampleRate) * 1000;
    const valid = code >= 0 && code < MODULUS && Math.abs(ms - burstMs(code)) <= 3;
    // The latest second at or before heardAt that codes as `code`.
    const heardSecond = Math.floor(heardAt / 1000);
    const capturedSecond = heardSecond - ((((heardSecond - code) % MODULUS) + MODULUS) % MODULUS);
    return { valid, code, heardAt, capturedAt: capturedSecond * 1000 };
  });
  const confirmed = new Set<number>();
  for (let i = 0; i + 1 < decoded.length; i++) {
    const [a, b] = [decoded[i]!, decoded[i + 1]!];
    if (a.valid && b.valid && b.code === (a.code + 1) % MODULUS && Math.abs(b.heardAt - a.heardAt - 1000) < 30) confirmed.add(i).add(i + 1);
  }
  return decoded.filter((_, i) => confirmed.has(i)).map(({ heardAt, capturedAt }) => ({ heardAt, capturedAt, latency: (heardAt - capturedAt) / 1000 }));
}
