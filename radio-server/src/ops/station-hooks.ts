import { MANIFEST_KEY, STREAM_NAMES } from '@radio/protocol';
import type { StationHooks } from '../pipeline/station.js';
import { classifyS3Error, StorageError } from '../publish/s3-errors.js';
import type { Health } from './health.js';
import type { LevelMeter } from './level-meter.js';
import type { StationMetrics } from './metrics.js';
import type { StatusLine } from './status-line.js';

/** The operator's view of a running station, as fed by its hooks. */
export interface OperatorView {
  metrics: StationMetrics;
  health: Health;
  meter: LevelMeter;
  status?: StatusLine;
  /** This host's clock offset to the storage endpoint in ms, for the status line. */
  clockOffsetMs?: () => number;
}

/** The labels of a failed publish: which object (hq, lq, manifest) and the S3 or network error code. */
export function uploadFailureLabels(error: unknown): { stream: string; code: string } {
  if (!(error instanceof StorageError)) return { stream: 'other', code: classifyS3Error(error).code };
  const stream = STREAM_NAMES.find((name) => error.key.startsWith(`${name}/`)) ?? (error.key.endsWith(MANIFEST_KEY) ? 'manifest' : 'other');
  return { stream, code: error.code };
}

/** The Station's hooks that keep the metrics, the health, the level meter and the status line current. */
export function stationHooks(view: OperatorView): StationHooks {
  const { metrics, health, meter, status, clockOffsetMs } = view;
  return {
    captured(block) {
      health.captured();
      for (const reading of meter.push(block)) {
        metrics.recordLevels(reading, meter.channelNames);
        status?.update({ levels: reading, ...(clockOffsetMs && { clockOffsetMs: clockOffsetMs() }) });
      }
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
    },
  };
}
