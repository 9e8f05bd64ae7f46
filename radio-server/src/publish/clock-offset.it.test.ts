import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClockOffset, measureClockOffset } from './clock-offset.js';
import { S3Store, type S3Target } from './s3-store.js';
import { LEVEL, memoryLogger } from './testing/memory-log.js';
import { startS3TestServer, type S3TestServer } from './testing/s3-test-server.js';

const MINUTES_20 = 20 * 60_000;
/** Node's http server caches its Date header and refreshes it on a timer, which can fire a little late. */
const DATE_HEADER_SLACK_MS = 100;

let server: S3TestServer;
const stores: S3Store[] = [];

beforeAll(async () => {
  server = await startS3TestServer();
});

afterAll(async () => {
  for (const store of stores) store.destroy();
  await server?.stop();
});

function setup(target: S3Target, hostClockSkewMs: number, intervalMs?: number) {
  const { log, lines } = memoryLogger();
  const store = new S3Store({ target, log });
  stores.push(store);
  const clock = new ClockOffset({ target, clock: store, log, now: () => Date.now() + hostClockSkewMs, ...(intervalMs ? { intervalMs } : {}) });
  return { store, clock, lines };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe(measureClockOffset.name, () => {
  it('finds no offset between two clocks that agree, within its stated uncertainty', async () => {
    const m = await measureClockOffset(server.target);
    expect(m.status).toBe(200);
    expect(Math.abs(m.offsetMs)).toBeLessThanOrEqual(m.uncertaintyMs + DATE_HEADER_SLACK_MS);
  });

  it('finds a host 20 minutes behind from the Date of the 403 its skewed request gets', async () => {
    const m = await measureClockOffset(server.target, { now: () => Date.now() - MINUTES_20 });
    expect(m.status).toBe(403);
    expect(Math.abs(m.offsetMs - MINUTES_20)).toBeLessThanOrEqual(m.uncertaintyMs + DATE_HEADER_SLACK_MS);
  });
});

describe(ClockOffset.name, () => {
  it('applies the offset to the store\'s signing clock and says at ERROR that NTP is broken, with the command to check it', async () => {
    const { store, clock, lines } = setup(server.target, +MINUTES_20);
    const m = await clock.start();
    clock.stop();
    expect(store.clockOffsetMs).toBe(m!.offsetMs);
    expect(Math.abs(m!.offsetMs + MINUTES_20)).toBeLessThanOrEqual(m!.uncertaintyMs + DATE_HEADER_SLACK_MS);
    const errors = lines.filter((l) => l.level === LEVEL.error);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/^this host's clock is 20\.0 min ahead of the endpoint's .*NTP is broken.*`timedatectl timesync-status` or `chronyc tracking`/);
    // Signed with the corrected time, the next probe is accepted.
    expect((await clock.measure())!.status).toBe(200);
  });

  it('warns above a second and only informs below', async () => {
    const skewed = setup(server.target, -5000);
    await skewed.clock.measure();
    expect(skewed.lines.map((l) => [l.level, l.msg])).toEqual([[LEVEL.warn, expect.stringMatching(/^this host's clock is [45]\.\d s behind the endpoint's/)]]);
    const fine = setup(server.target, 0);
    await fine.clock.measure();
    expect(fine.lines.map((l) => l.level)).toEqual([LEVEL.info]);
    expect(fine.lines[0]!.clockOffsetMs).toEqual(expect.any(Number));
  });

  it('measures again every interval until stopped', async () => {
    const { clock } = setup(server.target, 0, 20);
    const probes = () => server.events.filter((e) => e.phase === 'answered' && e.method === 'HEAD').length;
    const before = probes();
    await clock.start();
    await until(() => probes() >= before + 4, 'three more measurements');
    clock.stop();
  });

  it('keeps the offset it has when the endpoint cannot be reached, and says so', async () => {
    const gone = await startS3TestServer();
    await gone.stop();
    const { store, clock, lines } = setup(gone.target, 0);
    store.clockOffsetMs = 1234;
    expect(await clock.start()).toBeUndefined();
    clock.stop();
    expect(store.clockOffsetMs).toBe(1234);
    expect(lines.map((l) => [l.level, l.code])).toEqual([[LEVEL.warn, 'ECONNREFUSED']]);
  });
});
