import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { segmentKey, type Manifest } from '@radio/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../publish/s3-store.js';
import { memoryLogger } from '../publish/testing/memory-log.js';
import { startS3TestServer, type S3TestServer } from '../publish/testing/s3-test-server.js';
import { freePort } from '../testing/free-port.js';
import { startDaemon, storageEnv, waitFor, type Daemon } from '../testing/daemon.js';
import { decodeListedHq, downloadTrack, readManifest } from '../testing/bucket-reader.js';
import { ffmpegDecodeFloat, ffmpegDecodeInt } from '../testing/reference-decoders.js';
import { musicLike, sameSamples, type Signal } from '../testing/signals.js';
import { writeWav } from '../testing/wav.js';

const RATE = 48000;
let work: string;
let server: S3TestServer | undefined;
let store: S3Store | undefined;
const daemons: Daemon[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'radio-run-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
afterEach(async () => {
  for (const d of daemons.splice(0)) d.process.kill('SIGKILL');
  store?.destroy();
  await server?.stop();
  store = undefined;
  server = undefined;
});

async function freshBucket(): Promise<{ server: S3TestServer; store: S3Store }> {
  server = await startS3TestServer();
  store = new S3Store({ target: server.target, log: memoryLogger().log });
  return { server, store };
}

function daemon(args: string[], wrapper: string[] = []): Daemon {
  const d = startDaemon(['run', ...args], { ...storageEnv(server!.target), STATION_NAME: 'Test FM' }, wrapper);
  daemons.push(d);
  return d;
}

const manifest = () => readManifest(store!);

async function input(name: string, signal: Signal): Promise<string> {
  const path = join(work, `${name}.wav`);
  await writeWav(path, signal);
  return path;
}


describe('radio-server run, publishing to an S3 server on loopback', () => {
  it('publishes a file source bit-exact (HQ) and sample-exact (LQ), in protocol order, and signs off live: false', async () => {
    const { server, store } = await freshBucket();
    const signal = musicLike(7 * RATE + RATE / 2);
    const d = daemon(['--source', `file:${await input('programme', signal)}`, '--speed', '20', '--segment-seconds', '1', '--window', '100']);
    expect(await d.exited).toBe(0);
    const m = (await manifest())!;
    expect(m).toMatchObject({ live: false, station: 'Test FM', segmentSeconds: 1, channels: 2 });
    const segments = m.streams.hq.segments;
    expect(segments.map((s) => s.samples)).toEqual([...Array(7).fill(RATE), RATE / 2]);
    expect(segments.map((s) => s.seq - segments[0]!.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(segments[0]!.discontinuity).toBe(true);

    const hq = await decodeListedHq(store, m, work);
    expect(hq.length).toBe(signal.samples.length);
    expect(Buffer.from(hq.buffer).equals(Buffer.from(signal.samples.buffer))).toBe(true);
    expect((await ffmpegDecodeFloat(await downloadTrack(store, m, 'lq', work))).length).toBe(signal.samples.length);
    // ffmpeg as an HLS client: the media playlists over HTTP, after sign-off (ENDLIST), give the programme.
    const base = `${server.target.endpoint}/${server.target.bucket}`;
    expect(sameSamples(await ffmpegDecodeInt(`${base}/hq/playlist.m3u8`, 24), signal.samples)).toBe(true);
    expect((await ffmpegDecodeFloat(`${base}/lq/playlist.m3u8`)).length).toBe(signal.samples.length);

    // Protocol order: both files of a segment answered before the manifest that lists it is received.
    const manifestPuts = server.events.filter((e) => e.method === 'PUT' && e.key === 'manifest.json' && e.phase === 'received');
    for (const s of segments) {
      const listing = manifestPuts.find((e) => (JSON.parse(e.body!.toString()) as Manifest).streams.hq.segments.some((x) => x.seq === s.seq))!;
      const listedAt = server.events.indexOf(listing);
      for (const stream of ['hq', 'lq'] as const) {
        const stored = server.events.findIndex((e) => e.method === 'PUT' && e.key === segmentKey(stream, s.seq) && e.phase === 'answered' && e.status === 200);
        expect(stored).toBeGreaterThanOrEqual(0);
        expect(stored).toBeLessThan(listedAt);
      }
    }
    const log = d.output();
    expect(log).not.toContain(server.target.credentials.secretAccessKey);
  });

  it('publishes raw PCM from stdin bit-exact, and signs off when stdin ends', async () => {
    const { store } = await freshBucket();
    const signal = musicLike(2 * RATE + 777);
    const d = daemon(['--source', 'stdin', '--format', 's24le', '--segment-seconds', '1', '--window', '100']);
    const raw = Buffer.alloc(signal.samples.length * 3);
    signal.samples.forEach((v, i) => raw.writeIntLE(v, i * 3, 3));
    d.process.stdin!.end(raw);
    expect(await d.exited).toBe(0);
    const m = (await readManifest(store))!;
    expect(m.live).toBe(false);
    expect(m.streams.hq.segments.map((s) => s.samples)).toEqual([RATE, RATE, 777]);
    const hq = await decodeListedHq(store, m, work);
    expect(Buffer.from(hq.buffer).equals(Buffer.from(signal.samples.buffer))).toBe(true);
  });

  it('when the source stops delivering audio (a hung pipe, an unplugged interface) publishes what came, signs off and exits 1', async () => {
    const { store } = await freshBucket();
    const signal = musicLike(RATE + RATE / 2);
    const d = daemon(['--source', 'stdin', '--format', 's24le', '--segment-seconds', '1', '--window', '100', '--stall-seconds', '2']);
    const raw = Buffer.alloc(signal.samples.length * 3);
    signal.samples.forEach((v, i) => raw.writeIntLE(v, i * 3, 3));
    d.process.stdin!.write(raw); // and the pipe stays open, silent
    expect(await d.exited).toBe(1);
    expect(d.output()).toContain('no audio from stdin (s24le, stereo, 48000 Hz) for 2 s (unplugged, or its input hung?): publishing what was captured, then exiting so that the service restarts capture');
    const m = (await readManifest(store))!;
    expect(m.live).toBe(false);
    expect(m.streams.hq.segments.map((s) => s.samples)).toEqual([RATE, RATE / 2]);
    const hq = await decodeListedHq(store, m, work);
    expect(Buffer.from(hq.buffer).equals(Buffer.from(signal.samples.buffer))).toBe(true);
  });

  it('with --loop plays the file again from its start, sample-continuous, until stopped', async () => {
    const { store } = await freshBucket();
    const signal = musicLike(RATE / 2); // half a segment: every segment holds two passes
    const d = daemon(['--source', `file:${await input('loop', signal)}`, '--loop', '--speed', '10', '--segment-seconds', '1', '--window', '100']);
    await waitFor('three segments', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 3);
    d.process.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    const hq = await decodeListedHq(store, (await readManifest(store))!, work);
    for (let pass = 0; pass < 6; pass++) {
      expect(Buffer.from(hq.buffer, pass * signal.samples.byteLength, signal.samples.byteLength).equals(Buffer.from(signal.samples.buffer))).toBe(true);
    }
  });

  it('keeps window + keepExtra segments, and a poller never sees a manifest naming a missing object', async () => {
    const { store } = await freshBucket();
    const d = daemon(['--source', `file:${await input('long', musicLike(12 * RATE))}`, '--speed', '8', '--segment-seconds', '1']);
    let polls = 0;
    let exited = false;
    void d.exited.then(() => (exited = true));
    while (!exited) {
      const m = await manifest();
      if (m) {
        polls++;
        expect(m.streams.hq.segments.length).toBeLessThanOrEqual(3);
        for (const stream of ['hq', 'lq'] as const) {
          for (const s of m.streams[stream].segments) expect(await store.get(s.uri), `${s.uri} listed by a manifest`).toBeDefined();
        }
      }
    }
    expect(await d.exited).toBe(0);
    expect(polls).toBeGreaterThan(5);
    const m = (await manifest())!;
    const last = m.streams.hq.segments.at(-1)!.seq;
    expect(m.streams.hq.segments.map((s) => s.seq)).toEqual([last - 2, last - 1, last]);
    // In the bucket: the window and keepExtra=2 older ones; nothing older.
    for (let seq = last - 4; seq <= last; seq++) expect(await store.get(segmentKey('lq', seq))).toBeDefined();
    for (let seq = last - 11; seq < last - 4; seq++) expect(await store.get(segmentKey('hq', seq))).toBeUndefined();
  });

  it('never reuses a seq across restarts and marks the first segment after a restart as a discontinuity', async () => {
    await freshBucket();
    const file = await input('short', musicLike(2 * RATE));
    expect(await daemon(['--source', `file:${file}`, '--speed', '20', '--segment-seconds', '1']).exited).toBe(0);
    const first = (await manifest())!.streams.hq.segments.map((s) => s.seq);
    expect(await daemon(['--source', `file:${file}`, '--speed', '20', '--segment-seconds', '1']).exited).toBe(0);
    const second = (await manifest())!.streams.hq.segments;
    expect(second.map((s) => s.seq)).toEqual([first[1], second[1]!.seq, second[2]!.seq]);
    expect(second[1]!.seq).toBeGreaterThan(first.at(-1)!);
    expect(second.map((s) => s.discontinuity)).toEqual([false, true, false]);
  });

  it('on SIGTERM stops capture, publishes what it has, writes live: false and exits 0', async () => {
    await freshBucket();
    const d = daemon(['--source', 'tone', '--segment-seconds', '1']);
    await waitFor('two published segments', async () => ((await manifest())?.streams.hq.segments.length ?? 0) >= 2);
    const signalled = Date.now();
    d.process.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(30_000);
    const m = (await manifest())!;
    expect(m.live).toBe(false);
    expect(d.output()).toMatch(/SIGTERM: stopping capture/);
  });

  for (const skew of ['-20m', '+20m']) {
    it(`uploads every segment when the host clock is ${skew.slice(1)} ${skew[0] === '-' ? 'behind' : 'ahead'} (libfaketime)`, async () => {
      const { store } = await freshBucket();
      const faketime = ['env', 'FAKETIME_NO_CACHE=1', 'DONT_FAKE_MONOTONIC=1', 'faketime', '-f', skew];
      const d = daemon(['--source', `file:${await input('skewed', musicLike(4 * RATE))}`, '--speed', '10', '--segment-seconds', '1', '--window', '100'], faketime);
      expect(await d.exited).toBe(0);
      const m = (await readManifest(store))!;
      expect(m.streams.hq.segments.map((s) => s.samples)).toEqual([RATE, RATE, RATE, RATE]);
      for (const stream of ['hq', 'lq'] as const) {
        for (const s of m.streams[stream].segments) expect(await store.get(s.uri)).toBeDefined();
      }
      expect(d.output()).toMatch(/NTP/); // the 20-minute offset is reported as broken time sync
      expect(d.output()).not.toMatch(/RequestTimeTooSkewed/);
    });
  }

  it('keeps capturing through a 30 s outage of the store, with bounded memory, and resumes with a discontinuity', async () => {
    const { server, store } = await freshBucket();
    const d = daemon(['--source', 'tone', '--segment-seconds', '1']);
    await waitFor('a first published segment', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 1);
    const before = (await readManifest(store))!.streams.hq.segments.at(-1)!.seq;
    await server.goDown();
    const rss: number[] = [];
    const outageEnds = Date.now() + 30_000;
    while (Date.now() < outageEnds) {
      rss.push(Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${d.process.pid}/status`, 'utf8'))![1]) / 1024);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // sampling memory once a second, not waiting for a condition
    }
    await server.comeBack();
    const back = Date.now();
    const resumed = await waitFor('publishing to resume', async () => {
      const segments = (await readManifest(store))?.streams.hq.segments ?? [];
      return segments.find((s) => s.seq > before + 1 && s.discontinuity);
    }, 15_000);
    // Within about one segment (1 s here) plus the retry wait (1 s).
    expect(Date.now() - back).toBeLessThan(5_000);
    // The oldest unsent segments were dropped (the queue holds 6), so the first one back follows a gap ...
    expect(resumed.seq - before).toBeGreaterThan(10);
    expect(d.output()).toMatch(/upload queue full: dropped segment/);
    // ... and capture went on all along: the sample clock counted the 30 s.
    await waitFor('the segments captured after the outage', async () => ((await readManifest(store))?.streams.hq.segments.at(-1)?.seq ?? 0) >= before + 30, 15_000);
    expect(Math.max(...rss) - Math.min(...rss.slice(0, 5))).toBeLessThan(60);
    d.process.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  }, 90_000);

  it('serves /healthz and /metrics on METRICS_PORT while it runs', async () => {
    const { server } = await freshBucket();
    const port = await freePort();
    const d = startDaemon(['run', '--source', 'tone', '--segment-seconds', '1'], { ...storageEnv(server.target), METRICS_PORT: String(port) });
    daemons.push(d);
    const healthy = await waitFor('/healthz to say ok', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      return response?.status === 200 ? ((await response.json()) as { status: string }) : undefined;
    });
    expect(healthy.status).toBe('ok');
    const metrics = await waitFor('an uploaded segment in /metrics', async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /^radio_segments_uploaded_total\{stream="hq"\} [1-9]/m.test(text) ? text : undefined;
    });
    expect(metrics).toMatch(/^radio_input_peak_dbfs\{channel="left"\} -12\.0\d*/m);
    // Failures by the store's known codes are there at 0 before the first (an increase() alert sees the first).
    expect(metrics).toMatch(/^radio_upload_failures_total\{stream="hq",code="AccessDenied"\} 0$/m);
    d.process.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('warns of dead air at the level and after the time the operator set', async () => {
    const { store } = await freshBucket();
    // The tone peaks at -12 dBFS (RMS -15): under a -6 dBFS threshold it counts as dead air.
    const d = daemon(['--source', 'tone', '--speed', '4', '--segment-seconds', '1', '--dead-air-dbfs', '-6', '--dead-air-seconds', '2']);
    await waitFor('the dead-air warning', () => /dead air: the input has been under -6 dBFS for 2 s/.test(d.output()));
    d.process.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect((await readManifest(store))!.live).toBe(false);
  });

  it('says what is wrong with the configuration in one line per problem, exit 2, without the secret', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const d = startDaemon(['run', '--source', 'tone'], { R2_ENDPOINT: 'ftp://example', R2_BUCKET: 'radio', R2_ACCESS_KEY: 'AKIA', R2_SECRET_KEY: `${secret} x` });
    expect(await d.exited).toBe(2);
    expect(d.output()).toBe(
      'radio-server: the configuration has 2 problems (set these in the environment or in .env):\n' +
        '  - R2_ENDPOINT must be an http:// or https:// URL, e.g. https://<account-id>.r2.cloudflarestorage.com\n' +
        '  - R2_SECRET_KEY contains spaces or line breaks: copy it again without them\n',
    );
  });

  it('names a bad --source and its choices', async () => {
    const d = startDaemon(['run', '--source', 'microphone'], { R2_ENDPOINT: 'http://127.0.0.1:1', R2_BUCKET: 'radio', R2_ACCESS_KEY: 'AKIA', R2_SECRET_KEY: 'secret' });
    expect(await d.exited).toBe(2);
    expect(d.output()).toBe('radio-server: --source microphone is not a source: use portaudio, tone, file:PATH (a WAV file) or stdin\n');
  });
});
