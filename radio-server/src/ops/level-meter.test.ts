import { describe, expect, it } from 'vitest';
import { LEVEL, memoryLogger } from '../publish/testing/memory-log.js';
import { makeSignal, seededRandom } from '../testing/signals.js';
import { LevelMeter, type LevelReading } from './level-meter.js';

const RATE = 48000;

/** A logger keeping its lines, with the WARN and INFO ones at hand. */
function recordingLogger() {
  const { log, lines } = memoryLogger();
  return { log, lines, warnings: () => lines.filter((l) => l.level === LEVEL.warn), infos: () => lines.filter((l) => l.level === LEVEL.info) };
}

/** Feeds `samples` in blocks of `blockFrames` (odd, so windows end mid-block), returning every reading. */
function feed(meter: LevelMeter, samples: Int32Array, channels: number, blockFrames = 1021): LevelReading[] {
  const readings: LevelReading[] = [];
  for (let start = 0; start < samples.length; start += blockFrames * channels) {
    readings.push(...meter.push(samples.subarray(start, start + blockFrames * channels)));
  }
  return readings;
}

const sine = (amplitude: number, hz = 997) => (frame: number) => amplitude * Math.sin((2 * Math.PI * hz * frame) / RATE);

describe(LevelMeter.name, () => {
  it.each([16, 24] as const)('measures a %i-bit sine per channel: peak and RMS within 0.1 dB', (bits) => {
    const { log, lines } = recordingLogger();
    const meter = new LevelMeter({ sampleRate: RATE, channels: 2, bitsPerSample: bits }, log);
    // Left at -6.02 dBFS peak, right at -20 dBFS peak; a sine's RMS is 3.01 dB under its peak.
    // toBeCloseTo(x, 1) allows less than 0.05 dB.
    const left = sine(0.5);
    const right = sine(0.1, 440);
    const signal = makeSignal(2 * RATE, 2, bits, (f, c) => (c === 0 ? left(f) : right(f)));
    const readings = feed(meter, signal.samples, 2);

    expect(readings).toHaveLength(2);
    for (const reading of readings) {
      expect(reading.peakDbfs[0]).toBeCloseTo(-6.02, 1);
      expect(reading.rmsDbfs[0]).toBeCloseTo(-9.03, 1);
      expect(reading.peakDbfs[1]).toBeCloseTo(-20, 1);
      expect(reading.rmsDbfs[1]).toBeCloseTo(-23.01, 1);
      expect(reading.clipped).toBe(0);
      expect(reading.silenceSeconds).toBe(0);
    }
    expect(lines).toEqual([]);
  });

  it('measures a mono signal and keeps a partial window for the next block', () => {
    const { log } = recordingLogger();
    const meter = new LevelMeter({ sampleRate: RATE, channels: 1, bitsPerSample: 24 }, log);
    const signal = makeSignal(RATE + RATE / 2, 1, 24, sine(0.25));
    expect(meter.channelNames).toEqual(['mono']);
    expect(meter.push(signal.samples.subarray(0, RATE / 2))).toEqual([]);
    const [reading, ...rest] = meter.push(signal.samples.subarray(RATE / 2));
    expect(rest).toEqual([]);
    expect(reading!.peakDbfs[0]).toBeCloseTo(-12.04, 1);
    expect(reading!.rmsDbfs[0]).toBeCloseTo(-15.05, 1);
  });

  it('reports dead air once after 30 s of quiet hiss, counts its length, and says when audio returns', () => {
    const { log, warnings, infos } = recordingLogger();
    const meter = new LevelMeter({ sampleRate: RATE, channels: 2, bitsPerSample: 24 }, log);
    const random = seededRandom(3);
    // Hiss around -65 dBFS RMS: silence as a real input delivers it, not digital zeros.
    const hiss = makeSignal(31 * RATE, 2, 24, () => 0.001 * (random() * 2 - 1));
    const quiet = feed(meter, hiss.samples, 2);

    expect(quiet).toHaveLength(31);
    expect(quiet.at(-1)!.silenceSeconds).toBeGreaterThanOrEqual(30);
    expect(quiet.at(-1)!.rmsDbfs[0]).toBeLessThan(-50);
    expect(quiet.map((r) => r.silenceSeconds)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.msg).toMatch(/^dead air: the input has been under -50 dBFS for 30 s/);
    expect(infos()).toEqual([]);

    const music = makeSignal(2 * RATE, 2, 24, sine(0.3));
    const loud = feed(meter, music.samples, 2);
    expect(loud.map((r) => r.silenceSeconds)).toEqual([0, 0]);
    expect(warnings()).toHaveLength(1);
    expect(infos().map((l) => l.msg)).toEqual(['audio is back after 31 s of dead air']);
  });

  it('digital silence reads -Infinity dBFS', () => {
    const { log } = recordingLogger();
    const meter = new LevelMeter({ sampleRate: RATE, channels: 2, bitsPerSample: 16 }, log);
    const [reading] = meter.push(new Int32Array(2 * RATE));
    expect(reading).toEqual({ peakDbfs: [-Infinity, -Infinity], rmsDbfs: [-Infinity, -Infinity], clipped: 0, silenceSeconds: 1 });
  });

  it('does not call a quiet programme dead air, nor a short pause, and the threshold is configurable', () => {
    const quietProgramme = makeSignal(40 * RATE, 2, 24, sine(0.01)); // -40 dBFS peak, -43 RMS
    const byDefault = recordingLogger();
    feed(new LevelMeter({ sampleRate: RATE, channels: 2, bitsPerSample: 24 }, byDefault.log), quietProgramme.samples, 2);
    expect(byDefault.lines).toEqual([]);

    const strict = recordingLogger();
    const meter = new LevelMeter({ sampleRate: RATE, channels: 2, bitsPerSample: 24 }, strict.log, { deadAirBelowDbfs: -30, deadAirAfterSeconds: 10 });
    const readings = feed(meter, quietProgramme.samples, 2);
    expect(strict.warnings().map((l) => l.msg)).toEqual([expect.stringMatching(/^dead air: the input has been under -30 dBFS for 10 s/)]);
    expect(readings.at(-1)!.silenceSeconds).toBe(40);

    const pause = recordingLogger();
    const pauseMeter = new LevelMeter({ sampleRate: RATE, channels: 2, bitsPerSample: 24 }, pause.log);
    feed(pauseMeter, new Int32Array(2 * 29 * RATE), 2);
    feed(pauseMeter, makeSignal(RATE, 2, 24, sine(0.3)).samples, 2);
    expect(pause.lines).toEqual([]);
  });

  it('a channel with audio is not dead air even when the other is silent', () => {
    const { log, lines } = recordingLogger();
    const meter = new LevelMeter({ sampleRate: RATE, channels: 2, bitsPerSample: 24 }, log);
    const left = sine(0.3);
    const readings = feed(meter, makeSignal(35 * RATE, 2, 24, (f, c) => (c === 0 ? left(f) : 0)).samples, 2);
    expect(readings.at(-1)!.silenceSeconds).toBe(0);
    expect(lines).toEqual([]);
  });

  it.each([16, 24] as const)('counts a full-scale %i-bit square as clipped and warns at most once a minute', (bits) => {
    const { log, warnings } = recordingLogger();
    const meter = new LevelMeter({ sampleRate: RATE, channels: 2, bitsPerSample: bits }, log);
    // 100 Hz square at full scale: every sample is at +full scale or -full scale.
    const square = makeSignal(RATE, 2, bits, (f) => (Math.floor(f / 240) % 2 === 0 ? 1 : -1));
    const [first] = feed(meter, square.samples, 2);
    expect(first!.clipped).toBe(2 * RATE);
    expect(first!.peakDbfs[0]).toBeCloseTo(0, 3);
    expect(warnings().map((l) => l.msg)).toEqual([`input clipping: ${2 * RATE} samples at full scale in the last 1 s; turn the input gain down`]);

    // Within the minute: counted, not logged.
    for (let second = 1; second < 60; second++) expect(feed(meter, square.samples, 2)[0]!.clipped).toBe(2 * RATE);
    expect(warnings()).toHaveLength(1);
    // A minute after the first WARN: one more, with everything since.
    feed(meter, square.samples, 2);
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]!.msg).toBe(`input clipping: ${60 * 2 * RATE} samples at full scale in the last 60 s; turn the input gain down`);
  });

  it('counts samples within 1 LSB of full scale, and only those', () => {
    const { log } = recordingLogger();
    const meter = new LevelMeter({ sampleRate: 8, channels: 1, bitsPerSample: 16 }, log);
    const [reading] = meter.push(Int32Array.of(32767, 32766, 32765, -32768, -32767, -32766, 0, 100));
    expect(reading!.clipped).toBe(4);
  });
});
