import { MANIFEST_KEY, STREAM_NAMES } from '@radio/protocol';
import type { StationHooks } from '../pipeline/station.js';
import { classifyS3Error, StorageError } from '../publish/s3-errors.js';
import { STATION_LOCK_KEY } from '../publish/station-lock.js';
import type { Health, PartHealth } from '../ops/health.js';
import type { LevelMeter } from '../ops/level-meter.js';
import type { StationMetrics } from '../ops/metrics.js';
import type { StatusLine } from '../ops/status-line.js';

// The glue between the pipeline's events and the operator's view (ops/ knows neither the Station nor the
// store's errors): part of the composition root, with assemble-station.ts.

/** The operator's view of a running station, as fed by its hooks. */
export interface OperatorView {
  metrics: StationMetrics;
  health: Health;
  meter: LevelMeter;
  status?: StatusLine;
  /** This host's clock offset to the storage endpoint in ms, for the status line. */
  clockOffsetMs?: () => number;
  /** The archive's state, for the status line (the health reads it too). */
  archive?: () => PartHealth;
  /** A monotonic clock in ms; injected for tests. */
  now?: () => number;
}

/** Why the station cannot publish, in the operator's words: the S3 or network code and what to check. */
export function describeStoreProblem(error: unknown): { code: string; detail: string } {
  if (error instanceof StorageError) return { code: error.code, detail: `${error.code}: ${error.hint}` };
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return { code: error.code, detail: error.message };
  const { code, hint } = classifyS3Error(error);
  return { code, detail: `${code}: ${hint}` };
}

/** The labels of a failed publish: which object (hq, lq, manifest, the station lock) and the S3 or network error code. */
export function uploadFailureLabels(error: unknown): { stream: string; code: string } {
  if (!(error instanceof StorageError)) return { stream: 'other', code: classifyS3Error(error).code };
  const stream = STREAM_NAMES.find((name) => error.key.startsWith(`${name}/`)) ?? (error.key.endsWith(MANIFEST_KEY) ? 'manifest' : error.key.endsWith(STATION_LOCK_KEY) ? 'lock' : 'other');
  return { stream, code: error.code };
}

/** The Station's hooks that keep the metrics, the health, the level meter and the status line current. */
export function stationHooks(view: OperatorView): StationHooks {
  const { metrics, health, meter, status, clockOffsetMs, archive } = view;
  return {
    captured(block) {
      health.captured();
      for (const reading of meter.push(block)) {
        metrics.recordLevels(reading, meter.channelNames);
        const recording = archive?.();
        status?.update({ levels: reading, ...(clockOffsetMs && { clockOffsetMs: clockOffsetMs() }), ...(recording && { archive: recording.ok ? '' : recording.detail }) });
      }
    },
    onAir() {
      health.onAir();
      status?.update({ store: '' });
    },
    connectFailed(error) {
      const { code, detail } = describeStoreProblem(error);
      health.connectFailed(detail);
      status?.update({ store: `NOT ON AIR (${code})` });
    },
    offAir(error) {
      health.offAir(error instanceof Error ? error.message : String(error));
      status?.update({ store: 'OFF AIR (another daemon took over)' });
    },
    encoded() {
      health.encoded();
    },
    published(meta, seconds) {
      // A segment is published once stored in every stream (see Publisher).
      for (const stream of STREAM_NAMES) metrics.segmentsUploaded.inc({ stream });
      metrics.uploadSeconds.observe(seconds);
      health.published(meta.seq, seconds);
      status?.update({ lastSeq: meta.seq, uploadSeconds: seconds });
    },
    uploadFailed(_meta, error) {
      const labels = uploadFailureLabels(error);
      metrics.uploadFailures.inc(labels);
      health.uploadFailed(labels.code);
    },
    queued(segments) {
      metrics.queueSegments.set(segments);
      health.queued(segments);
    },
  };
}
