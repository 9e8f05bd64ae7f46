import { STREAM_NAMES } from '@radio/protocol';
import { collectDefaultMetrics } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { KNOWN_STORAGE_ERROR_CODES, StorageError, classifyS3Error } from '../publish/s3-errors.js';
import { EVENT_LOOP_MONITORING_MS, StationMetrics } from './metrics.js';
import { uploadFailureLabels } from '../cli/station-hooks.js';

vi.mock('prom-client', async (original) => {
  const actual = await original<typeof import('prom-client')>();
  return { ...actual, collectDefaultMetrics: vi.fn(actual.collectDefaultMetrics) };
});

/** The samples of `name` in the text exposition, as `{labels} value` lines. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`)).map((line) => line.slice(name.length));
}

describe(StationMetrics.name, () => {
  it('exposes segments uploaded at 0 for every stream before the first upload', async () => {
    const text = await new StationMetrics().text();
    expect(samples(text, 'radio_segments_uploaded_total')).toEqual(STREAM_NAMES.map((stream) => `{stream="${stream}"} 0`));
  });

  it('exposes upload failures at 0 for every stream and known error code before the first failure', async () => {
    const lines = samples(await new StationMetrics({ uploadFailureCodes: KNOWN_STORAGE_ERROR_CODES }).text(), 'radio_upload_failures_total');
    for (const stream of ['hq', 'lq', 'manifest', 'lock']) {
      for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'NoSuchBucket', 'RequestTimeTooSkewed', 'SlowDown', 'ServiceUnavailable']) {
        expect(lines).toContain(`{stream="${stream}",code="${code}"} 0`);
      }
    }
    expect(lines).toHaveLength(4 * KNOWN_STORAGE_ERROR_CODES.length);
  });

  it('counts a classified failure on its zero series, adding none', async () => {
    const metrics = new StationMetrics({ uploadFailureCodes: KNOWN_STORAGE_ERROR_CODES });
    const before = samples(await metrics.text(), 'radio_upload_failures_total').length;
    const labels = uploadFailureLabels(new StorageError('PUT', 'lq/0000000007.m4s', classifyS3Error({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })));
    metrics.uploadFailures.inc(labels);
    const after = samples(await metrics.text(), 'radio_upload_failures_total');
    expect(after).toHaveLength(before);
    expect(after).toContain('{stream="lq",code="AccessDenied"} 1');
  });

  it('samples the event-loop delay once a second, not every 10 ms: each sample wakes the process', async () => {
    const metrics = new StationMetrics();
    expect(EVENT_LOOP_MONITORING_MS).toBe(1000);
    expect(collectDefaultMetrics).toHaveBeenLastCalledWith(expect.objectContaining({ register: metrics.registry, eventLoopMonitoringPrecision: 1000 }));
    // The lag metrics are still exported.
    expect((await metrics.text()).split('\n')).toContainEqual(expect.stringMatching(/^nodejs_eventloop_lag_p99_seconds /));
  });
});
