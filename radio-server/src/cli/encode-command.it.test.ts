import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseManifest, type Manifest } from '@radio/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegDecodeFloat, ffmpegDecodeInt, flacTest, opusinfo, snrDb } from '../testing/reference-decoders.js';
import { musicLike, noise, silence, sweep, transients, makeSignal, type Signal } from '../testing/signals.js';
import { wavBytes, writeWav } from '../testing/wav.js';

const run = promisify(execFile);
const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const RATE = 48000;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function radioServer(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run('node', [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'radio-encode-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Encodes `signal` with the CLI into a fresh directory and returns the directory and its manifest. */
async function encode(name: string, signal: Signal, ...flags: string[]): Promise<{ out: string; manifest: Manifest; result: CliResult }> {
  const input = join(work, `${name}.wav`);
  const out = join(work, name);
  await writeWav(input, signal);
  const result = await radioServer('encode', input, '--out', out, ...flags);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const parsed = parseManifest(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')));
  if (!parsed.ok) throw new Error(parsed.error);
  return { out, manifest: parsed.manifest, result };
}

function concat<T extends Int32Array | Float32Array>(parts: T[], make: (n: number) => T): T {
  const all = make(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return all;
}

async function decodeHq(out: string, manifest: Manifest, bits: 16 | 24): Promise<Int32Array[]> {
  return Promise.all(manifest.streams.hq.segments.map((s) => ffmpegDecodeInt(join(out, s.uri), bits)));
}

async function decodeLq(out: string, manifest: Manifest): Promise<Float32Array[]> {
  return Promise.all(manifest.streams.lq.segments.map((s) => ffmpegDecodeFloat(join(out, s.uri))));
}

/** Error energy of `decoded` against `reference` over frames [from, to). */
function windowError(reference: Int32Array, bits: number, decoded: Float32Array, channels: number, from: number, to: number): number {
  const scale = 2 ** (bits - 1);
  let sum = 0;
  for (let i = from * channels; i < to * channels; i++) sum += (reference[i]! / scale - decoded[i]!) ** 2;
  return sum;
}

describe('radio-server encode', () => {
  const frames = 5 * RATE + 1234; // two full 2 s segments and a partial one

  it('cuts 24-bit stereo into 2 s segments: exact sample counts, a valid manifest, live false, seq from 0', async () => {
    const signal = musicLike(frames);
    const { manifest, result, out } = await encode('music', signal, '--segment-seconds', '2');
    expect(result.stdout).toContain('encoded 3 segments');
    expect(manifest).toMatchObject({ version: 1, live: false, segmentSeconds: 2, sampleRate: RATE, channels: 2 });
    expect(manifest.streams.hq.bitsPerSample).toBe(24);
    expect(manifest.streams.lq.bitrate).toBe(128000);
    for (const stream of ['hq', 'lq'] as const) {
      const segments = manifest.streams[stream].segments;
      expect(segments.map((s) => s.seq)).toEqual([0, 1, 2]);
      expect(segments.map((s) => s.samples)).toEqual([96000, 96000, RATE + 1234]);
      expect(segments.map((s) => s.discontinuity)).toEqual([true, false, false]);
      for (const s of segments) expect((await stat(join(out, s.uri))).size).toBe(s.bytes);
    }
    const starts = manifest.streams.hq.segments.map((s) => Date.parse(s.startedAt));
    expect(starts[1]! - starts[0]!).toBe(2000);
    expect((await readdir(out)).sort()).toEqual(['hq', 'lq', 'manifest.json']);
  });

  it('HQ: every segment passes flac -t and the segments decoded by ffmpeg are the input, bit for bit', async () => {
    for (const [name, signal] of [['hq-sweep', sweep(frames)], ['hq-noise', noise(frames)], ['hq-silence', silence(frames)], ['hq-transients', transients(frames)]] as const) {
      const { out, manifest } = await encode(name, signal, '--segment-seconds', '2');
      for (const s of manifest.streams.hq.segments) expect(await flacTest(join(out, s.uri))).toBe('');
      const decoded = concat(await decodeHq(out, manifest, 24), (n) => new Int32Array(n));
      expect(decoded.length).toBe(signal.samples.length);
      expect(Buffer.from(decoded.buffer).equals(Buffer.from(signal.samples.buffer))).toBe(true);
    }
  });

  it('LQ: every segment is clean for opusinfo and decodes on its own to exactly its samples', async () => {
    const { out, manifest } = await encode('lq-music', musicLike(frames), '--segment-seconds', '2');
    const parts = await decodeLq(out, manifest);
    for (const [i, s] of manifest.streams.lq.segments.entries()) {
      const info = await opusinfo(join(out, s.uri));
      expect(info).not.toMatch(/WARNING|ERROR/);
      const [, minutes, seconds] = /Playback length: (\d+)m:([\d.]+)s/.exec(info)!;
      // opusinfo prints milliseconds: its length must round to ours; ffmpeg below checks the exact count.
      expect(Math.abs((Number(minutes) * 60 + Number(seconds)) * 1000 - (s.samples * 1000) / RATE)).toBeLessThan(1);
      expect(parts[i]!.length).toBe(s.samples * 2);
    }
  });

  it('LQ: concatenated segments have the input length and about 20 dB SNR on music-like audio', async () => {
    const cases = [
      ['snr-music', musicLike(frames), 19],
      ['snr-sweep', sweep(frames), 15],
      ['snr-transients', transients(frames), 20],
    ] as const;
    for (const [name, signal, minimum] of cases) {
      const { out, manifest } = await encode(name, signal, '--segment-seconds', '2');
      const decoded = concat(await decodeLq(out, manifest), (n) => new Float32Array(n));
      expect(decoded.length).toBe(signal.samples.length);
      expect(snrDb(signal.samples, 24, decoded), name).toBeGreaterThan(minimum);
    }
  });

  it('LQ: keeps the loudness of noise and the silence of silence', async () => {
    const level = (x: ArrayLike<number>, scale = 1) => {
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += (x[i]! / scale) ** 2;
      return 10 * Math.log10(sum / x.length);
    };
    const noisy = noise(frames);
    const a = await encode('level-noise', noisy, '--segment-seconds', '2');
    const decodedNoise = concat(await decodeLq(a.out, a.manifest), (n) => new Float32Array(n));
    expect(Math.abs(level(decodedNoise) - level(noisy.samples, 2 ** 23))).toBeLessThan(1);
    const b = await encode('level-silence', silence(frames), '--segment-seconds', '2');
    const decodedSilence = concat(await decodeLq(b.out, b.manifest), (n) => new Float32Array(n));
    expect(decodedSilence.length).toBe(frames * 2);
    expect(decodedSilence.every((v) => Math.abs(v) < 1e-4)).toBe(true);
  });

  it('LQ: no extra error at segment boundaries compared with one continuous encode', async () => {
    // The same input encoded as one 10 s segment is the reference. A sweep shows a cold or zero-padded
    // encoder plainly: without pre-roll the 5 ms after a boundary carry up to 30x the continuous
    // encode's error, without post-roll the 5 ms before it up to 10x; with both, at most 2x.
    const length = 6 * RATE + 12000;
    for (const [name, signal] of [['edges-sweep', sweep(length)], ['edges-music', musicLike(length)], ['edges-transients', transients(length)]] as const) {
      const segmented = await encode(name, signal, '--segment-seconds', '2');
      const ours = concat(await decodeLq(segmented.out, segmented.manifest), (n) => new Float32Array(n));
      const whole = await encode(`${name}-whole`, signal, '--segment-seconds', '10');
      const continuous = concat(await decodeLq(whole.out, whole.manifest), (n) => new Float32Array(n));
      for (const boundary of [96000, 192000, 288000]) {
        for (const [from, to] of [[-480, 0], [-240, 240], [0, 240], [240, 480]] as const) {
          const oursError = windowError(signal.samples, 24, ours, 2, boundary + from, boundary + to);
          const continuousError = windowError(signal.samples, 24, continuous, 2, boundary + from, boundary + to);
          expect(oursError, `${name}, frames ${from}..${to} around ${boundary}`).toBeLessThan(3 * continuousError + 1e-9);
        }
      }
    }
  });

  it('uses 10 s segments by default', async () => {
    const { manifest } = await encode('default-length', musicLike(12 * RATE));
    expect(manifest.segmentSeconds).toBe(10);
    expect(manifest.streams.lq.segments.map((s) => s.samples)).toEqual([480000, 96000]);
  });

  it('keeps 16-bit mono as 16-bit mono, bit for bit', async () => {
    const signal = musicLike(3 * RATE, 16, 1);
    const { out, manifest } = await encode('mono16', signal, '--segment-seconds', '2');
    expect(manifest.channels).toBe(1);
    expect(manifest.streams.hq.bitsPerSample).toBe(16);
    const decoded = concat(await decodeHq(out, manifest, 16), (n) => new Int32Array(n));
    expect(Array.from(decoded)).toEqual(Array.from(signal.samples));
    const lq = concat(await decodeLq(out, manifest), (n) => new Float32Array(n));
    expect(lq.length).toBe(3 * RATE);
  });

  it('stores 32-bit input as its top 24 bits (what browsers and ffmpeg decode)', async () => {
    const signal = makeSignal(RATE, 2, 32, (f) => Math.sin(f / 10) * 0.5);
    const { out, manifest } = await encode('int32', signal, '--segment-seconds', '2');
    expect(manifest.streams.hq.bitsPerSample).toBe(24);
    const decoded = concat(await decodeHq(out, manifest, 24), (n) => new Int32Array(n));
    expect(Array.from(decoded)).toEqual(Array.from(signal.samples, (v) => v >> 8));
  });

  it('encodes a truncated WAV up to its last whole frame, with a warning', async () => {
    const full = wavBytes(musicLike(RATE));
    const input = join(work, 'truncated.wav');
    await writeFile(input, full.subarray(0, full.length - 1000 - 2)); // ends inside a frame
    const out = join(work, 'truncated');
    const result = await radioServer('encode', input, '--out', out, '--segment-seconds', '2');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('input is truncated: encoding up to its last whole frame');
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.streams.hq.segments[0]!.samples).toBe(Math.floor((RATE * 6 - 1002) / 6));
  });
});

describe('radio-server encode, bad input', () => {
  async function refuses(args: string[], message: string | RegExp): Promise<void> {
    const out = join(work, 'refused');
    const result = await radioServer('encode', ...args, '--out', out);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(typeof message === 'string' ? 1 : result.stderr.trim().split('\n').length);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await expect(stat(join(out, 'manifest.json'))).rejects.toThrow();
  }

  it('names the sample rate of a 44.1 kHz file', async () => {
    const input = join(work, 'cd.wav');
    await writeFile(input, wavBytes(musicLike(4410, 16), 44100));
    await refuses([input], /^radio-server: input is 44100 Hz; the station runs at 48000 Hz: convert it with: ffmpeg /);
  });

  it('names a missing file, a directory, a file that is not WAV, float and 8-bit PCM, and too many channels', async () => {
    await refuses([join(work, 'nope.wav')], `radio-server: input ${join(work, 'nope.wav')} does not exist\n`);
    await mkdir(join(work, 'a-directory'), { recursive: true });
    await refuses([join(work, 'a-directory')], /is a directory, not a WAV file/);
    await writeFile(join(work, 'text.wav'), 'hello, this is not audio');
    await refuses([join(work, 'text.wav')], /is not a WAV file \(expected a RIFF\/WAVE header\)/);
    const float = wavBytes(musicLike(480, 32));
    float.writeUInt16LE(3, 20);
    await writeFile(join(work, 'float.wav'), float);
    await refuses([join(work, 'float.wav')], /input is 32-bit floating point; the station takes integer PCM/);
    const eightBit = wavBytes(musicLike(480, 16));
    eightBit.writeUInt16LE(8, 34);
    await writeFile(join(work, 'u8.wav'), eightBit);
    await refuses([join(work, 'u8.wav')], /input is 8-bit PCM; the station takes 16, 24 or 32-bit/);
    const quad = wavBytes(musicLike(480, 16));
    quad.writeUInt16LE(4, 22);
    await writeFile(join(work, 'quad.wav'), quad);
    await refuses([join(work, 'quad.wav')], /input has 4 channels; the station takes mono or stereo/);
  });

  it('refuses an unreadable file', async () => {
    const input = join(work, 'locked.wav');
    await writeFile(input, wavBytes(musicLike(480)), { mode: 0o000 });
    // Root reads any file, so the CLI runs as nobody (setpriv, util-linux) when the tests run as root.
    const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const [command, ...args] = [...asNobody, 'node', CLI, 'encode', input, '--out', join(tmpdir(), 'radio-never-written')];
    const result = await run(command!, args).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`radio-server: input ${input} is not readable (check its permissions)\n`);
  });

  it('says in one line when the output folder cannot be written', async () => {
    const input = join(work, 'ok-out.wav');
    await writeWav(input, musicLike(480));
    const notAFolder = join(work, 'a-file');
    await writeFile(notAFolder, 'x');
    const result = await radioServer('encode', input, '--out', join(notAFolder, 'show'));
    expect(result.code).toBe(2);
    // HQ and LQ are written in parallel: whichever folder is made first is the one named.
    expect(result.stderr).toMatch(new RegExp(`^radio-server: cannot mkdir ${join(notAFolder, 'show')}/(hq|lq): a part of the path is a file, not a folder\n$`));
  });

  it('refuses an empty WAV and out-of-range options', async () => {
    const empty = join(work, 'empty.wav');
    await writeFile(empty, wavBytes(musicLike(0)));
    await refuses([empty], /holds no audio frames/);
    const input = join(work, 'ok.wav');
    await writeWav(input, musicLike(480));
    await refuses([input, '--flac-level', '9'], /option '--flac-level <n>' argument '9' is invalid. expected a whole number from 0 to 8/);
    await refuses([input, '--segment-seconds', '0'], /--segment-seconds/);
    await refuses([input, '--opus-bitrate', 'lots'], /--opus-bitrate/);
  });
});
