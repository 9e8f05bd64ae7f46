import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseManifest, type Manifest } from '@radio/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegDecodeFloat, ffmpegDecodeInt, snrDb } from '../testing/reference-decoders.js';
import { judgeMediaPlaylist, parsePlaylist } from '../testing/playlist-judge.js';
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

/** The stream as a player reads it: the init, then every listed fragment, in one file. */
async function track(out: string, manifest: Manifest, stream: 'hq' | 'lq'): Promise<string> {
  const segments = manifest.streams[stream].segments;
  const parts = await Promise.all([segments[0]!.init, ...segments.map((s) => s.uri)].map((key) => readFile(join(out, key))));
  const path = join(out, `${stream}-whole.mp4`);
  await writeFile(path, Buffer.concat(parts));
  return path;
}

async function decodeHq(out: string, manifest: Manifest, bits: 16 | 24): Promise<Int32Array> {
  return ffmpegDecodeInt(await track(out, manifest, 'hq'), bits);
}

async function decodeLq(out: string, manifest: Manifest): Promise<Float32Array> {
  return ffmpegDecodeFloat(await track(out, manifest, 'lq'));
}

async function ffprobeStream(path: string): Promise<Record<string, string>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'flat=s=_', path]);
  return Object.fromEntries([...stdout.matchAll(/^streams_stream_0_(\w+)=("?)(.*)\2$/gm)].map((m) => [m[1]!, m[3]!]));
}

/**
 * Interleaved samples ffmpeg 5.1 decodes from the LQ track of `frames` frames: a run ending within a 20 ms
 * packet ends on a shortened last sample (its trun duration), which ffmpeg's decoder still plays whole.
 * Whole packets decode exactly.
 */
const lqDecodedLength = (frames: number) => Math.ceil(frames / 960) * 960 * 2;

/** Error energy of `decoded` against `reference` over frames [from, to). */
function windowError(reference: Int32Array, bits: number, decoded: Float32Array, channels: number, from: number, to: number): number {
  const scale = 2 ** (bits - 1);
  let sum = 0;
  for (let i = from * channels; i < to * channels; i++) sum += (reference[i]! / scale - decoded[i]!) ** 2;
  return sum;
}

describe('radio-server encode', () => {
  const frames = 5 * RATE + 1234; // two full 2 s segments and a partial one

  it('cuts 24-bit stereo into 2 s segments: exact sample counts, a valid manifest and playlists, live false, seq from 1', async () => {
    const signal = musicLike(frames);
    const { manifest, result, out } = await encode('music', signal, '--segment-seconds', '2');
    expect(result.stdout).toContain('encoded 3 segments');
    expect(manifest).toMatchObject({ version: 2, live: false, segmentSeconds: 2, sampleRate: RATE, channels: 2, hls: 'live.m3u8' });
    expect(manifest.streams.hq.bitsPerSample).toBe(24);
    expect(manifest.streams.lq.bitrate).toBe(128000);
    for (const stream of ['hq', 'lq'] as const) {
      const segments = manifest.streams[stream].segments;
      expect(segments.map((s) => s.seq)).toEqual([1, 2, 3]);
      expect(segments.map((s) => s.samples)).toEqual([96000, 96000, RATE + 1234]);
      expect(segments.map((s) => s.discontinuity)).toEqual([true, false, false]);
      expect(segments.map((s) => [s.msn, s.init])).toEqual([0, 1, 2].map((msn) => [msn, `${stream}/init-0000000001.mp4`]));
      for (const s of segments) expect((await stat(join(out, s.uri))).size).toBe(s.bytes);
      // A finished presentation: every segment listed, then ENDLIST.
      const { playlist, segments: listed } = judgeMediaPlaylist(stream, await readFile(join(out, stream, 'playlist.m3u8'), 'utf8'));
      expect(playlist).toMatchObject({ endList: true, mediaSequence: 0, targetDuration: 2 });
      expect(listed.map((x) => [x.key, x.initKey, x.duration.toFixed(6), x.programDateTime])).toEqual(segments.map((s) => [s.uri, s.init, (s.samples / RATE).toFixed(6), s.startedAt]));
      expect((await readdir(join(out, stream))).sort()).toEqual(['0000000001.m4s', '0000000002.m4s', '0000000003.m4s', 'init-0000000001.mp4', 'playlist.m3u8']);
    }
    const starts = manifest.streams.hq.segments.map((s) => Date.parse(s.startedAt));
    expect(starts[1]! - starts[0]!).toBe(2000);
    expect((await readdir(out)).sort()).toEqual(['hq', 'live.m3u8', 'lq', 'manifest.json']);
    // live.m3u8 declares what was measured: the peak segment's rate and the mean.
    const variants = parsePlaylist(await readFile(join(out, 'live.m3u8'), 'utf8')).playlists!;
    expect(variants.map((v) => [v.uri, v.attributes.CODECS])).toEqual([['lq/playlist.m3u8', 'Opus'], ['hq/playlist.m3u8', 'fLaC']]);
    const hqBits = manifest.streams.hq.segments.reduce((n, s) => n + s.bytes * 8, 0);
    expect(Number(variants[1]!.attributes['AVERAGE-BANDWIDTH'])).toBe(Math.ceil(hqBits / (frames / RATE)));
  });

  it('HQ: the init and fragments, decoded by ffmpeg, are the input bit for bit; a 24-bit FLAC track', async () => {
    for (const [name, signal] of [['hq-sweep', sweep(frames)], ['hq-noise', noise(frames)], ['hq-silence', silence(frames)], ['hq-transients', transients(frames)]] as const) {
      const { out, manifest } = await encode(name, signal, '--segment-seconds', '2');
      expect(await ffprobeStream(await track(out, manifest, 'hq'))).toMatchObject({ codec_name: 'flac', sample_rate: '48000', channels: '2', bits_per_raw_sample: '24' });
      const decoded = await decodeHq(out, manifest, 24);
      expect(decoded.length).toBe(signal.samples.length);
      expect(Buffer.from(decoded.buffer).equals(Buffer.from(signal.samples.buffer))).toBe(true);
    }
  });

  it('LQ: an Opus track whose packets follow each other without a gap, decoding to exactly the input length', async () => {
    const { out, manifest } = await encode('lq-music', musicLike(frames), '--segment-seconds', '2');
    const path = await track(out, manifest, 'lq');
    expect(await ffprobeStream(path)).toMatchObject({ codec_name: 'opus', sample_rate: '48000', channels: '2' });
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=pts', '-of', 'csv=p=0', path]);
    const pts = stdout.trim().split('\n').map(Number);
    for (let i = 1; i < pts.length; i++) expect(pts[i]! - pts[i - 1]!, `packet ${i}`).toBe(960);
    expect(pts.length).toBe(Math.ceil(frames / 960) + 1); // and the priming packet
    expect((await decodeLq(out, manifest)).length).toBe(lqDecodedLength(frames));
  });

  it('LQ: concatenated segments have the input length and about 20 dB SNR on music-like audio', async () => {
    const cases = [
      ['snr-music', musicLike(frames), 19],
      ['snr-sweep', sweep(frames), 15],
      ['snr-transients', transients(frames), 20],
    ] as const;
    for (const [name, signal, minimum] of cases) {
      const { out, manifest } = await encode(name, signal, '--segment-seconds', '2');
      const decoded = await decodeLq(out, manifest);
      expect(decoded.length).toBe(lqDecodedLength(signal.samples.length / 2));
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
    const decodedNoise = await decodeLq(a.out, a.manifest);
    expect(Math.abs(level(decodedNoise) - level(noisy.samples, 2 ** 23))).toBeLessThan(1);
    const b = await encode('level-silence', silence(frames), '--segment-seconds', '2');
    const decodedSilence = await decodeLq(b.out, b.manifest);
    expect(decodedSilence.length).toBe(lqDecodedLength(frames));
    expect(decodedSilence.every((v) => Math.abs(v) < 1e-4)).toBe(true);
  });

  it('LQ: no extra error at segment boundaries compared with one continuous encode', async () => {
    // The same input encoded as 10 s segments is the reference. A sweep shows a cold or zero-padded
    // encoder at a boundary plainly (a per-segment encoder without pre-roll had 30x the error there);
    // one encoder for the whole run has none.
    const length = 6 * RATE + 12000;
    for (const [name, signal] of [['edges-sweep', sweep(length)], ['edges-music', musicLike(length)], ['edges-transients', transients(length)]] as const) {
      const segmented = await encode(name, signal, '--segment-seconds', '2');
      const ours = await decodeLq(segmented.out, segmented.manifest);
      const whole = await encode(`${name}-whole`, signal, '--segment-seconds', '10');
      const continuous = await decodeLq(whole.out, whole.manifest);
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
    const decoded = await decodeHq(out, manifest, 16);
    expect(Array.from(decoded)).toEqual(Array.from(signal.samples));
    const lq = await decodeLq(out, manifest);
    expect(lq.length).toBe(3 * RATE);
  });

  it('stores 32-bit input as its top 24 bits (what browsers and ffmpeg decode)', async () => {
    const signal = makeSignal(RATE, 2, 32, (f) => Math.sin(f / 10) * 0.5);
    const { out, manifest } = await encode('int32', signal, '--segment-seconds', '2');
    expect(manifest.streams.hq.bitsPerSample).toBe(24);
    const decoded = await decodeHq(out, manifest, 24);
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

describe('radio-server encode, a place it cannot write', () => {
  const mounts: string[] = [];
  afterEach(async () => {
    for (const mount of mounts.splice(0)) await run('umount', [mount]);
  });

  /** A fresh tmpfs of `size` (`ro`: read-only). */
  async function tmpfs(name: string, options: string): Promise<string> {
    const dir = join(work, name);
    await mkdir(dir, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    mounts.push(dir);
    return dir;
  }

  /** Encodes into `out` (as nobody, with the input in `asNobodyIn`) and expects the one line `sentence`, exit 2, and neither index nor temp file written. */
  async function fails(out: string, sentence: RegExp, asNobodyIn?: string): Promise<void> {
    const input = join(asNobodyIn ?? work, 'noise.wav');
    await writeWav(input, noise(6 * RATE)); // noise barely compresses: ~1.6 MB of FLAC
    const nobody = asNobodyIn && process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const [command, ...args] = [...nobody, 'node', CLI, 'encode', input, '--out', out, '--segment-seconds', '2'];
    const result = await run(command!, args).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(sentence);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    const written = await readdir(out, { recursive: true }).catch(() => []);
    expect(written.filter((f) => /manifest|\.m3u8$|\.tmp$/.test(f))).toEqual([]);
  }

  it('a full disk: one sentence naming it and the fix, exit 2, no manifest', async () => {
    const disk = await tmpfs('full', 'size=1m');
    await fails(join(disk, 'show'), new RegExp(`^radio-server: cannot write ${join(disk, 'show')}/(hq|lq)/\\d+\\.m4s: the disk is full; free some space, or write to another disk\n$`));
    // What fitted is there: the inits and the first fragments.
    expect((await readdir(join(disk, 'show', 'hq'))).filter((f) => f.startsWith('init-'))).toEqual(['init-0000000001.mp4']);
  });

  it('a read-only file system', async () => {
    const disk = await tmpfs('read-only', 'ro,size=1m');
    await fails(join(disk, 'show'), new RegExp(`^radio-server: cannot write ${join(disk, 'show')}/hq/init-0000000001.mp4: the file system is read-only; write to another folder\n$`));
  });

  it('a folder it may not write into', async () => {
    // Run as nobody when the tests run as root (who writes anywhere): the input must be readable to them.
    const open = await mkdtemp(join(tmpdir(), 'radio-encode-nobody-'));
    try {
      await chmod(open, 0o755);
      const locked = join(open, 'locked');
      await mkdir(locked, { mode: 0o555 });
      await fails(join(locked, 'show'), new RegExp(`^radio-server: cannot write ${join(locked, 'show')}/hq/init-0000000001.mp4: permission denied; check the owner and mode of the folder, or write to another folder\n$`), open);
    } finally {
      await rm(open, { recursive: true, force: true });
    }
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
    expect(result.stderr).toBe(`radio-server: cannot write ${join(notAFolder, 'show')}/hq/init-0000000001.mp4: ${notAFolder} is a file, not a folder; move it away, or write to another folder\n`);
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
