/** Test signals, as interleaved integers of a given bit depth. Deterministic (seeded noise). */

export interface Signal {
  channels: 1 | 2;
  bits: 16 | 24 | 32;
  samples: Int32Array;
}

const RATE = 48000;

function fullScale(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/** Builds a signal from a per-frame function giving each channel's value in [-1, 1]. */
export function makeSignal(frames: number, channels: 1 | 2, bits: 16 | 24 | 32, value: (frame: number, channel: number) => number): Signal {
  const scale = fullScale(bits);
  const samples = new Int32Array(frames * channels);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels; c++) samples[f * channels + c] = Math.round(Math.max(-1, Math.min(1, value(f, c))) * scale);
  }
  return { channels, bits, samples };
}

/** A small xorshift PRNG: the same noise in every run. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** Logarithmic sine sweep from 20 Hz to 20 kHz, the right channel a quarter period behind. */
export function sweep(frames: number, bits: 16 | 24 | 32 = 24): Signal {
  const k = Math.log(20000 / 20) / frames;
  return makeSignal(frames, 2, bits, (f, c) => 0.5 * Math.sin(((2 * Math.PI * 20) / RATE) * ((Math.exp(k * f) - 1) / k) + c * (Math.PI / 2)));
}

/** Music-like: three tones and a little noise, different per channel. */
export function musicLike(frames: number, bits: 16 | 24 | 32 = 24, channels: 1 | 2 = 2): Signal {
  const random = seededRandom(7);
  return makeSignal(frames, channels, bits, (f, c) => {
    const t = f / RATE;
    return 0.3 * Math.sin(2 * Math.PI * (220 + 110 * c) * t) + 0.2 * Math.sin(2 * Math.PI * 997 * t) + 0.1 * Math.sin(2 * Math.PI * 3150 * t) + 0.05 * (random() * 2 - 1);
  });
}

/** White noise at -10 dBFS peak. */
export function noise(frames: number, bits: 16 | 24 | 32 = 24): Signal {
  const random = seededRandom(42);
  return makeSignal(frames, 2, bits, () => 0.3 * (random() * 2 - 1));
}

export function silence(frames: number, bits: 16 | 24 | 32 = 24): Signal {
  return makeSignal(frames, 2, bits, () => 0);
}

/** Clicks every 0.25 s over a quiet tone: the hardest case for a codec's edges. */
export function transients(frames: number, bits: 16 | 24 | 32 = 24): Signal {
  return makeSignal(frames, 2, bits, (f) => (f % 12000 < 48 ? 0.9 * (1 - (f % 12000) / 48) : 0.05 * Math.sin((2 * Math.PI * 440 * f) / RATE)));
}

/** The same samples, byte for byte: Int32Array equality without vitest diffing half a million numbers. */
export function sameSamples(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
