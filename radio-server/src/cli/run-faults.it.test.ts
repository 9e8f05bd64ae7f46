import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../testing/bucket-reader.js';
import { waitFor } from '../testing/daemon.js';
import { figure, healthzOnce, newestSeq, stopped, useFaultRig } from '../testing/fault-rig.js';
import { ffmpegDecodeInt } from '../testing/reference-decoders.js';
import { useTempDirs } from '../testing/temp-dirs.js';

// The daemon when the network fails: no network at boot, a black hole, transient errors (see
// testing/fault-rig.ts; the store refusing it is in run-refusals.it.test.ts).

const RATE = 48000;
const tempDir = useTempDirs('radio-faults-');
const { rig, daemon } = useFaultRig();

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

  it('stopped before the store ever answered: exits 1 within seconds (no waiting out the shutdown deadline), the recording holding what was captured', async () => {
    const { proxy } = await rig('refuse');
    const dir = await tempDir();
    const recordings = join(dir, 'recordings');
    const d = await daemon(proxy, ['--segment-seconds', '1'], { RECORDINGS_DIR: recordings, STAGING_DIR: join(dir, 'staging') });
    await waitFor('a failed connection', () => /not on air yet/.test(d.output()), 15_000);
    const failedAt = Date.now();
    await waitFor('2 s more of capture without the store', () => Date.now() - failedAt > 2000, 5000);
    const { code, seconds } = await stopped(d);
    figure('SIGTERM before the store ever answered', `exit ${code} after ${seconds.toFixed(1)} s`);
    expect(code).toBe(1);
    expect(seconds).toBeLessThan(8);
    expect(d.output()).toMatch(/stopped before the store ever answered: \d+ segments were not published/);
    const files = (await readdir(recordings)).filter((f) => f.endsWith('.flac'));
    expect(files).toHaveLength(1);
    // At least what was captured since the first failure (capture began before it).
    expect((await ffmpegDecodeInt(join(recordings, files[0]!), 24)).length / 2 / RATE).toBeGreaterThan(2);
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

