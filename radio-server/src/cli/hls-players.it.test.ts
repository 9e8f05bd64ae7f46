/// <reference lib="dom" />
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPulseSink, type PulseSink } from '../testing/pulse-sink.js';
import { makeSignal } from '../testing/signals.js';
import { writeWav } from '../testing/wav.js';

// Third-party HLS players as judges of what the station publishes: mpv, VLC and hls.js in Chromium each
// play live.m3u8 from a plain HTTP server, and what they play is the test tone.

const run = promisify(execFile);
const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const HLS_JS = new URL('../../../node_modules/hls.js/dist/hls.min.js', import.meta.url).pathname;
const TONE_HZ = 440;
const TYPES: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.mp4': 'audio/mp4', '.m4s': 'audio/mp4', '.json': 'application/json', '.js': 'text/javascript', '.html': 'text/html' };

let work: string;
let server: Server;
let base: string;
/** The browsers' sound card: Firefox's media element fails (OnMediaSinkAudioError) without one. */
let pulse: PulseSink;

/** Serves `root` (and hls.js at /hls.js) over HTTP on loopback, as a CDN in front of the bucket would. */
function serveDirectory(root: string): Promise<Server> {
  const s = createServer((request, response) => {
    const path = request.url === '/hls.js' ? HLS_JS : join(root, normalize(decodeURIComponent(request.url!.split('?')[0]!)));
    readFile(path).then(
      (body) => response.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'access-control-allow-origin': '*' }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

/** RMS and the dominant frequency (by zero crossings) of 16-bit stereo PCM, left channel, skipping the first `skip` frames. */
function measure(pcm: Buffer, skip: number): { rms: number; hz: number } {
  const frames = Math.floor(pcm.length / 4);
  let sum = 0;
  let crossings = 0;
  let previous = 0;
  for (let f = skip; f < frames; f++) {
    const v = pcm.readInt16LE(f * 4) / 32768;
    sum += v * v;
    if (previous < 0 && v >= 0) crossings++;
    previous = v;
  }
  const n = Math.max(1, frames - skip);
  return { rms: Math.sqrt(sum / n), hz: (crossings * 48000) / n };
}

/** The PCM of a WAV file a player wrote (the data chunk, assumed 16-bit stereo 48 kHz as asked). */
async function wavPcm(path: string): Promise<Buffer> {
  const bytes = await readFile(path);
  const data = bytes.indexOf('data', 12, 'latin1');
  return bytes.subarray(data + 8);
}

const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'];

/** What the test needs of a page, in Playwright's and Puppeteer's common API. */
interface TestPage {
  setContent(html: string): Promise<unknown>;
  addScriptTag(options: { url: string }): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}
interface BrowserUnderTest {
  newPage(): Promise<TestPage & { close(): Promise<void> }>;
  close(): Promise<void>;
}

/** Loads hls.js into a blank page and plays `url` at `level` until 3 s of media time or a fatal error. */
async function playWithHlsJs(page: TestPage, url: string, level: number) {
  await page.setContent('<audio></audio>');
  await page.addScriptTag({ url: `${base}/hls.js` });
  return page.evaluate(async ({ url, level }) => {
    interface HlsLike { loadSource(u: string): void; attachMedia(m: HTMLMediaElement): void; on(e: string, f: (e: string, d: { fatal?: boolean; details?: string }) => void): void; currentLevel: number }
    const Hls = (window as unknown as { Hls: new (config: object) => HlsLike }).Hls;
    const audio = document.querySelector('audio')!;
    const hls = new Hls({ startLevel: level });
    const errors: string[] = [];
    const notes: string[] = [];
    hls.on('hlsError', (_e, data) => void (data.fatal ? errors.push(String(data.details)) : notes.push(String(data.details) + ' ' + String((data as { error?: Error }).error?.message))));
    hls.on('hlsManifestParsed', () => {
      hls.currentLevel = level;
      void audio.play();
    });
    hls.loadSource(url);
    hls.attachMedia(audio);
    const deadline = Date.now() + 20_000;
    while (audio.currentTime < 3 && errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return { currentTime: audio.currentTime, errors, level: hls.currentLevel, notes };
  }, { url, level });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hls-players-'));
  await chmod(work, 0o777); // VLC runs as nobody and writes its output here
  const input = join(work, 'tone.wav');
  await writeWav(input, makeSignal(8 * 48000, 2, 24, (f) => 0.3 * Math.sin((2 * Math.PI * TONE_HZ * f) / 48000)));
  await run('node', [CLI, 'encode', input, '--out', join(work, 'bucket'), '--segment-seconds', '2']);
  server = await serveDirectory(join(work, 'bucket'));
  pulse = await startPulseSink();
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await pulse?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('third-party HLS players play live.m3u8', () => {
  it('mpv plays the tone', async () => {
    const out = join(work, 'mpv.wav');
    await run('mpv', ['--no-config', '--really-quiet', '--vo=null', '--ao=pcm', `--ao-pcm-file=${out}`, '--audio-format=s16', '--audio-samplerate=48000', '--audio-channels=stereo', '--length=4', `${base}/live.m3u8`]);
    const { rms, hz } = measure(await wavPcm(out), 4800);
    expect(rms).toBeGreaterThan(0.15); // a 0.3 sine is 0.21 RMS
    expect(Math.abs(hz - TONE_HZ)).toBeLessThan(5);
  });

  it('VLC plays the tone', async () => {
    const out = join(work, 'vlc.wav');
    // VLC refuses to run as root: run it as nobody when the tests run as root.
    const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const [command, ...args] = [...asNobody, 'cvlc', '--quiet', '--no-video', '--aout=afile', `--audiofile-file=${out}`, '--audiofile-wav', '--audiofile-format=s16', '--audiofile-channels=2', '--run-time=5', '--play-and-exit', `${base}/live.m3u8`, 'vlc://quit'];
    await run(command!, args, { env: { ...process.env, HOME: work } });
    const { rms, hz } = measure(await wavPcm(out), 4800);
    expect(rms).toBeGreaterThan(0.15);
    expect(Math.abs(hz - TONE_HZ)).toBeLessThan(5);
  });

  // Both browsers: hls.js, forced to each level, plays 3 s of media time with no fatal error.
  const browsers: [string, () => Promise<BrowserUnderTest>][] = [
    ['Chromium', async () => {
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS, env: { ...process.env, ...pulse.env } });
      return { newPage: () => browser.newPage(), close: () => browser.close() };
    }],
    ['Firefox', async () => {
      const browser = await puppeteer.launch({
        browser: 'firefox',
        executablePath: '/usr/bin/firefox-esr',
        headless: true,
        env: { ...process.env, ...pulse.env },
        extraPrefsFirefox: { 'media.autoplay.default': 0, 'media.autoplay.blocking_policy': 0 },
      });
      // Puppeteer's evaluate is typed for its own handles; the calls made here are the ones Playwright's takes.
      return { newPage: async () => (await browser.newPage()) as unknown as TestPage & { close(): Promise<void> }, close: () => browser.close() };
    }],
  ];
  for (const [name, launch] of browsers) {
    describe(`hls.js over MSE in headless ${name}`, () => {
      let browser: BrowserUnderTest;
      beforeAll(async () => {
        browser = await launch();
      });
      afterAll(async () => browser?.close());

      for (const [level, codec] of [[0, 'Opus'], [1, 'fLaC']] as const) {
        it(`plays level ${level} (${codec}) for 3 s of media time without an error`, async () => {
          const page = await browser.newPage();
          const result = await playWithHlsJs(page, `${base}/live.m3u8`, level).finally(() => page.close());
          expect(result.errors).toEqual([]);
          expect(result.level, result.notes.join('; ')).toBe(level);
          expect(result.currentTime).toBeGreaterThanOrEqual(3);
        });
      }
    });
  }
});
