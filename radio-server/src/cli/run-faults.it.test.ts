import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { S3Store } from '../publish/s3-store.js';
import { STATION_LOCK_KEY } from '../publish/station-lock.js';
import { startFaultProxy, type FaultMode, type FaultProxy } from '../publish/testing/fault-proxy.js';
import { memoryLogger } from '../publish/testing/memory-log.js';
import { startS3TestServer, type S3TestServer } from '../publish/testing/s3-test-server.js';
import { readManifest } from '../testing/bucket-reader.js';
import { startDaemon, storageEnv, waitFor, type Daemon } from '../testing/daemon.js';
import { freePort } from '../testing/free-port.js';
import { ffmpegDecodeInt } from '../testing/reference-decoders.js';
import { useTempDirs } from '../testing/temp-dirs.js';

// The daemon against a fault-injecting proxy in front of the S3 test server (docs/operations.md, "Faults").
// Figures measured here are printed as `figure:` lines and kept in the README and docs/operations.md.

const RATE = 48000;
const tempDir = useTempDirs('radio-faults-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Rig {
  server: S3TestServer;
  proxy: FaultProxy;
  /** Reads the bucket directly, past the proxy. */
  store: S3Store;
}

async function rig(mode: FaultMode = 'pass'): Promise<Rig> {
  const server = await startS3TestServer();
  cleanups.push(() => server.stop());
  const proxy = await startFaultProxy(server.target, mode);
  cleanups.push(() => proxy.stop());
  const store = new S3Store({ target: server.target, log: memoryLogger().log });
  cleanups.push(() => store.destroy());
  return { server, proxy, store };
}

interface Running extends Daemon {
  port: number;
  healthz(): Promise<{ status: number; body: { status: string; failing?: string[]; parts: Record<string, { ok: boolean; detail: string }> } }>;
  /** The JSON log lines at ERROR. */
  errors(): { msg: string; time: number }[];
}

async function daemon(proxy: FaultProxy, args: string[], env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const d = startDaemon(['run', '--source', 'tone', ...args], { ...storageEnv(proxy.target), STATION_NAME: 'Test FM', METRICS_PORT: String(port), ...env });
  cleanups.push(() => d.process.kill('SIGKILL'));
  return {
    ...d,
    port,
    async healthz() {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      return { status: response.status, body: await response.json() };
    },
    errors: () => d.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string; time: number }).filter((l) => l.level === 50),
  };
}

const healthzOnce = (d: Running) => d.healthz().catch(() => undefined);
const newestSeq = async (store: S3Store) => (await readManifest(store))?.streams.hq.segments.at(-1)?.seq;
const figure = (what: string, value: string) => console.log(`figure: ${what}: ${value}`);

async function stopped(d: Daemon, timeoutMs = 40_000): Promise<{ code: number | string; seconds: number }> {
  const signalled = Date.now();
  d.process.kill('SIGTERM');
  const code = await Promise.race([d.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), timeoutMs))]);
  return { code, seconds: (Date.now() - signalled) / 1000 };
}

describe('radio-server run under network faults', () => {
  it('boots without network: records from the first second, names the store in /healthz, goes on air within seconds of the endpoint appearing', async () => {
    const { proxy, store } = await rig('refuse');
    const dir = await tempDir();
    const recordings = join(dir, 'recordings');
    const staging = join(dir, 'staging');
    const started = Date.now();
    const d = await daemon(proxy, ['--segment-seconds', '1'], { RECORDINGS_DIR: recordings, STAGING_DIR: staging });
    // Capture and the archive start at once: the staging recording grows while nothing can be published.
    const recordingSeenAfter = await waitFor('a recording in staging', async () => {
      const files = await readdir(staging).catch(() => []);
      const sizes = await Promise.all(files.map((f) => stat(join(staging, f)).then((s) => s.size)));
      return sizes.some((size) => size > 10_000) ? (Date.now() - started) / 1000 : undefined;
    }, 10_000);
    const down = await waitFor('/healthz to name the unreachable store', async () => {
      const h = await healthzOnce(d);
      return h?.status === 503 && /not on air .*ECONNREFUSED/.test(h.body.parts.uploads?.detail ?? '') ? h : undefined;
    }, 10_000);
    expect(down.body.failing).toEqual(['uploads']);
    expect(down.body.parts.archive!.ok).toBe(true);
    await waitFor('6 s without network', () => Date.now() - started > 6000, 10_000);
    await proxy.setMode('pass');
    const appeared = Date.now();
    await waitFor('a published segment', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 1, 15_000);
    const onAirAfter = (Date.now() - appeared) / 1000;
    figure('on air after the endpoint appears (1 s segments, boot 6 s without network)', `${onAirAfter.toFixed(1)} s`);
    expect(onAirAfter).toBeLessThan(5);
    expect((await healthzOnce(d))?.status).toBe(200);
    const { code } = await stopped(d);
    const ranFor = (Date.now() - started) / 1000;
    expect(code).toBe(0);
    expect((await readManifest(store))!.live).toBe(false);
    const files = (await readdir(recordings)).filter((f) => f.endsWith('.flac'));
    expect(files).toHaveLength(1);
    const archived = (await ffmpegDecodeInt(join(recordings, files[0]!), 24)).length / 2 / RATE;
    figure('audio archived of a boot without network', `${archived.toFixed(1)} s of a ${ranFor.toFixed(1)} s run (first staging write ${recordingSeenAfter.toFixed(1)} s after spawn)`);
    // Everything from the daemon's first captured block (before it, Node loads the daemon: 1.5 to 2.5 s
    // on a busy machine) to the stop: the staging file was seen with audio in it at recordingSeenAfter.
    expect(archived).toBeGreaterThan(ranFor - recordingSeenAfter - 1);
  }, 60_000);

  it('in a black hole: /healthz says so within a segment, publishing resumes within a segment, and SIGTERM ends in time', async () => {
    const { proxy, store } = await rig();
    const d = await daemon(proxy, ['--segment-seconds', '2']);
    await waitFor('two published segments', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 2, 30_000);
    await proxy.setMode('blackhole');
    const holeAt = Date.now();
    const before = (await newestSeq(store))!;
    const noticed = await waitFor('/healthz to fail uploads', async () => {
      const h = await healthzOnce(d);
      return h?.status === 503 && h.body.failing?.includes('uploads') ? h : undefined;
    }, 15_000);
    const noticedAfter = (Date.now() - holeAt) / 1000;
    figure('/healthz failing after a black hole begins (2 s segments)', `${noticedAfter.toFixed(1)} s: ${noticed.body.parts.uploads!.detail}`);
    expect(noticedAfter).toBeLessThan(2 * 2 + 1.5); // the segment being made, then a segment of silence
    expect(noticed.body.parts.uploads!.detail).toMatch(/has not answered|failed in a row/);
    await waitFor('12 s of black hole', () => Date.now() - holeAt > 12_000, 20_000);
    await proxy.setMode('pass');
    const back = Date.now();
    await waitFor('publishing to resume', async () => ((await newestSeq(store)) ?? 0) > before + 1, 15_000);
    const resumedAfter = (Date.now() - back) / 1000;
    figure('publishing resumed after a 12 s black hole (2 s segments)', `${resumedAfter.toFixed(1)} s`);
    expect(resumedAfter).toBeLessThan(2 + 1);
    await waitFor('/healthz ok again', async () => (await healthzOnce(d))?.status === 200, 10_000);

    await proxy.setMode('blackhole');
    const holeAgain = Date.now();
    await waitFor('the store silent again', async () => (await healthzOnce(d))?.status === 503, 15_000);
    const { code, seconds } = await stopped(d);
    figure('SIGTERM in a black hole', `exit ${code} after ${seconds.toFixed(1)} s (black hole for ${((Date.now() - holeAgain) / 1000).toFixed(0)} s), manifest live: ${(await readManifest(store))!.live}`);
    expect(seconds).toBeLessThan(35);
    expect(code).toBe(1);
    expect((await readManifest(store))!.live).toBe(true); // it could not sign off, and says so
    expect(d.output()).toMatch(/could not write the final manifest \(live: false\).*it still says live: true/);
  }, 120_000);

  it('under a steady 403 from boot: stays up, names the credentials in /healthz, logs a few ERROR lines a minute, and goes on air once they work', async () => {
    const { proxy, store } = await rig('403');
    const spawned = Date.now();
    const d = await daemon(proxy, ['--segment-seconds', '1']);
    const refused = await waitFor('/healthz to name the refused credentials', async () => {
      const h = await healthzOnce(d);
      return h?.status === 503 && /AccessDenied/.test(h.body.parts.uploads?.detail ?? '') ? h : undefined;
    }, 15_000);
    expect(refused.body.parts.uploads!.detail).toMatch(/check it has Object Read & Write permission on R2_BUCKET/);
    const from = Date.now();
    await waitFor('a minute of 403', () => Date.now() - from > 60_000, 70_000);
    const perMinute = d.errors().filter((l) => l.time >= from && l.time < from + 60_000).length;
    const firstMinute = d.errors().filter((l) => l.time < spawned + 60_000).length;
    figure('ERROR lines under a steady 403 (1 s segments)', `${firstMinute} in the first minute from boot, ${perMinute} in the next full minute (requests refused meanwhile: ${proxy.requests['403']})`);
    expect(firstMinute).toBeLessThanOrEqual(2);
    expect(perMinute).toBeLessThanOrEqual(2);
    expect(d.output()).not.toMatch(/"stack"/);
    expect(d.process.exitCode).toBeNull();
    await proxy.setMode('pass');
    await waitFor('a published segment', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 1, 15_000);
    expect((await stopped(d)).code).toBe(0);
  }, 120_000);

  it('through 503, 429, resets and connections closed mid-body: each logged with its code, publishing resumes after each', async () => {
    const { proxy, store } = await rig();
    const d = await daemon(proxy, ['--segment-seconds', '1']);
    await waitFor('a published segment', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 1, 30_000);
    const resumed: string[] = [];
    for (const mode of ['503', '429', 'reset', 'close-mid-body'] as const) {
      await proxy.setMode(mode);
      await waitFor(`requests meeting ${mode}`, () => proxy.requests[mode] >= 6, 15_000);
      const before = (await newestSeq(store))!;
      await proxy.setMode('pass');
      const back = Date.now();
      await waitFor(`publishing after ${mode}`, async () => ((await newestSeq(store)) ?? 0) > before, 15_000);
      resumed.push(`${mode} ${((Date.now() - back) / 1000).toFixed(1)} s`);
    }
    figure('publishing resumed after each fault (1 s segments)', resumed.join(', '));
    const log = d.output();
    for (const code of ['ServiceUnavailable', 'SlowDown', 'ECONNRESET']) expect(log).toContain(code);
    expect((await stopped(d)).code).toBe(0);
    expect((await readManifest(store))!.live).toBe(false);
  }, 120_000);
});

describe('radio-server run, two daemons on one bucket', () => {
  it('a second daemon refuses to go on air while the first is, in one sentence; --takeover takes over and the first stands down', async () => {
    const { proxy, store } = await rig();
    const first = await daemon(proxy, ['--segment-seconds', '1']);
    await waitFor('the first on air', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 2, 30_000);
    const firstLock = Buffer.from((await store.get(STATION_LOCK_KEY))!).toString();
    const second = await daemon(proxy, ['--segment-seconds', '1']);
    const refusal = await waitFor('the refusal', () => second.errors().find((l) => /another radio-server is on air/.test(l.msg)), 20_000);
    expect(refusal.msg).toMatch(/^another radio-server is on air on this bucket and prefix: "Test FM" on host \S+ \(pid \d+\), last published \S+Z \(\d+ s ago\); stop it first, or start this one with --takeover: not on air yet; trying again in \d+(\.\d+)? s \(capture and the archive go on\)$/);
    expect((await second.healthz()).body.parts.uploads!.detail).toMatch(/another radio-server is on air/);
    // The first goes on: its lock, its manifest.
    const seq = (await newestSeq(store))!;
    await waitFor('the first still publishing', async () => ((await newestSeq(store)) ?? 0) > seq + 1, 10_000);
    expect(Buffer.from((await store.get(STATION_LOCK_KEY))!).toString()).toBe(firstLock);

    const third = await daemon(proxy, ['--segment-seconds', '1', '--takeover']);
    await waitFor('the first to stand down', () => first.errors().some((l) => /took over this bucket/.test(l.msg)), 20_000);
    const lock = JSON.parse(Buffer.from((await store.get(STATION_LOCK_KEY))!).toString()) as { pid: number };
    expect(lock.pid).toBe(third.process.pid);
    const taken = (await newestSeq(store))!;
    await waitFor('the third publishing', async () => ((await newestSeq(store)) ?? 0) > taken + 1, 10_000);
    // Off air, neither of the others signs off over the third's manifest (stopped first: once the third
    // signs off, the bucket is free and a waiting daemon would go on air).
    expect((await stopped(first)).code).toBe(1);
    expect((await stopped(second)).code).toBe(1);
    expect((await readManifest(store))!.live).toBe(true);
    expect((await stopped(third)).code).toBe(0);
    expect((await readManifest(store))!.live).toBe(false);
  }, 120_000);
});
