import { describe, expect, it } from 'vitest';
import { STATION_LOCK_KEY } from '../publish/station-lock.js';
import { readManifest } from '../testing/bucket-reader.js';
import { waitFor } from '../testing/daemon.js';
import { figure, healthzOnce, newestSeq, stopped, useFaultRig } from '../testing/fault-rig.js';

// The daemon when the store refuses it: credentials without permission, another daemon on air on the
// same bucket (see testing/fault-rig.ts; network faults are in run-faults.it.test.ts).

const { rig, daemon } = useFaultRig();

describe('radio-server run refused by the store', () => {
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
