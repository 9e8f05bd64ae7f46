import { afterEach, describe, expect, it } from 'vitest';
import { ToneSource } from '../capture/tone-source.js';
import { FlacTrackEncoder } from '../encode/flac-track-encoder.js';
import { OpusTrackEncoder } from '../encode/opus-track-encoder.js';
import { ENCODER_POST_ROLL } from '../encode/segment-encoder.js';
import { Station } from '../pipeline/station.js';
import { ClockOffset } from '../publish/clock-offset.js';
import { StationOutlet } from '../publish/station-outlet.js';
import { STORAGE_REQUEST_POLICY } from '../publish/request-policy.js';
import { StorageError } from '../publish/s3-errors.js';
import { S3Store } from '../publish/s3-store.js';
import { memoryLogger } from '../publish/testing/memory-log.js';
import { startS3TestServer } from '../publish/testing/s3-test-server.js';
import { waitFor } from '../testing/daemon.js';
import { Health } from '../ops/health.js';
import { LevelMeter } from '../ops/level-meter.js';
import { StationMetrics } from '../ops/metrics.js';
import { startOpsServer } from '../ops/ops-server.js';
import { stationHooks, uploadFailureLabels } from './station-hooks.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One sample's value from a Prometheus text exposition (enough here; ops-server.it.test.ts parses it strictly). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe(uploadFailureLabels.name, () => {
  const failure = (key: string) => new StorageError('PUT', key, { code: 'SlowDown', kind: 'transient', hint: '' });
  it('names the object that failed and the error code', () => {
    expect(uploadFailureLabels(failure('hq/0000000001.flac'))).toEqual({ stream: 'hq', code: 'SlowDown' });
    expect(uploadFailureLabels(failure('lq/0000000001.opus'))).toEqual({ stream: 'lq', code: 'SlowDown' });
    expect(uploadFailureLabels(failure('manifest.json'))).toEqual({ stream: 'manifest', code: 'SlowDown' });
    expect(uploadFailureLabels(failure('.station-lock'))).toEqual({ stream: 'lock', code: 'SlowDown' });
    expect(uploadFailureLabels(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toEqual({ stream: 'other', code: 'ECONNREFUSED' });
  });
});

describe(stationHooks.name, () => {
  it('keeps /metrics and /healthz true to a real station through an outage of its bucket', async () => {
    const s3 = await startS3TestServer();
    cleanups.push(() => s3.stop());
    const { log, lines } = memoryLogger();
    const store = new S3Store({ target: s3.target, log, policy: { ...STORAGE_REQUEST_POLICY, maxRetries: 1, backoffBaseMs: 5, backoffMaxMs: 10 } });
    cleanups.push(() => store.destroy());
    const clockOffset = new ClockOffset({ target: s3.target, clock: store, log });
    await clockOffset.start();
    cleanups.push(() => clockOffset.stop());

    const source = new ToneSource({ speed: 10 });
    const clockOffsetMs = () => store.clockOffsetMs;
    const metrics = new StationMetrics({ clockOffsetMs });
    const health = new Health({ segmentSeconds: 1, clockOffsetMs });
    const meter = new LevelMeter(source.format, log);
    const publisher = new StationOutlet({ store, clockOffset, station: { station: 'Test FM', segmentSeconds: 1, format: source.format, opusBitrate: 64000 }, window: 3, keepExtra: 2, log });
    const station = new Station({
      source,
      segmentSeconds: 1,
      encoders: (runSeq) => [
        new FlacTrackEncoder({ format: source.format, compressionLevel: 0, segmentFrames: 48000, runSeq }),
        new OpusTrackEncoder({ format: source.format, bitrate: 64000, segmentFrames: 48000, runSeq }),
      ],
      postRollFrames: ENCODER_POST_ROLL,
      publisher,
      firstSeq: 1,
      log,
      uploadQueueSegments: 20,
      retryDelayMs: 20,
      hooks: stationHooks({ metrics, health, meter, clockOffsetMs }),
    });
    const ops = await startOpsServer({ port: 0, metrics, health, log });
    cleanups.push(() => ops.close());
    const running = station.run();
    cleanups.push(() => (station.stop(), station.abandonUploads(), running.catch(() => undefined)));

    const scrape = async () => (await fetch(`${ops.url}/metrics`)).text();
    const healthz = async () => {
      const response = await fetch(`${ops.url}/healthz`);
      return { status: response.status, body: (await response.json()) as { failing?: string[] } };
    };

    await waitFor('3 segments published', async () => (sample(await scrape(), 'radio_segments_uploaded_total{stream="lq"}') ?? 0) >= 3);
    expect(await healthz()).toMatchObject({ status: 200, body: { status: 'ok' } });
    const live = await scrape();
    // The tone is a -12.04 dBFS sine (peak), so -15.05 dBFS RMS.
    expect(sample(live, 'radio_input_peak_dbfs{channel="left"}')).toBeCloseTo(-12.04, 1);
    expect(sample(live, 'radio_input_rms_dbfs{channel="right"}')).toBeCloseTo(-15.05, 1);
    expect(sample(live, 'radio_silence_seconds')).toBe(0);
    expect(Math.abs(sample(live, 'radio_clock_offset_seconds')!)).toBeLessThan(2);

    // The bucket goes away: failures are counted by object and code, the queue grows, uploads turn unhealthy.
    await s3.goDown();
    const down = await waitFor('uploads reported failing', async () => {
      const report = await healthz();
      return report.status === 503 && report.body.failing?.includes('uploads') ? report : undefined;
    });
    expect(down.body.failing).toEqual(['uploads']);
    const outage = await scrape();
    // Each publish reads the station lock first (publish/station-outlet.ts): that is the request that fails.
    const refused = ['hq', 'lq', 'manifest', 'lock'].map((stream) => sample(outage, `radio_upload_failures_total{stream="${stream}",code="ECONNREFUSED"}`) ?? 0);
    expect(refused.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(3);
    await waitFor('segments queued during the outage', async () => (sample(await scrape(), 'radio_queue_segments') ?? 0) >= 1);

    // It comes back: the queue drains and /healthz is 200 again.
    await s3.comeBack();
    await waitFor('uploads healthy again', async () => (await healthz()).status === 200);
    station.stop();
    const summary = await running;
    const after = await scrape();
    expect(sample(after, 'radio_segments_uploaded_total{stream="hq"}')).toBe(summary.published);
    expect(sample(after, 'radio_upload_seconds_count')).toBe(summary.published);
    expect(sample(after, 'radio_queue_segments')).toBe(0);
    expect(lines.filter((l) => l.level >= 40 && /dead air|clipping/.test(l.msg))).toEqual([]);
  });
});
