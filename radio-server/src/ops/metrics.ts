import { STREAM_NAMES } from '@radio/protocol';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LevelReading } from './level-meter.js';

/**
 * How often Node's event-loop delay is sampled for `nodejs_eventloop_lag_*` (prom-client's default is every
 * 10 ms). Each sample is a timer that wakes the process: on this machine every 10 ms cost 0.7 % of a core
 * (a third of the daemon's wake-ups, more than its HQ libFLAC), every 100 ms 0.1 %, every second 0.02 %.
 * What it costs the metric: the samples are the intervals between these timers, so they read 1 s plus the
 * lag (before, 10 ms plus the lag), and a stall shows only when it delays one of them (always, when it is
 * longer than a second; max - 1 s is the worst lateness). Capture stalls have their own check (/healthz).
 */
export const EVENT_LOOP_MONITORING_MS = 1000;

/** The objects a failed publish is counted by (see cli/station-hooks.ts, `uploadFailureLabels`). */
const UPLOAD_FAILURE_STREAMS = [...STREAM_NAMES, 'manifest', 'lock'];

export interface StationMetricsOptions {
  /** This host's clock offset to the storage endpoint in ms (the store's signing clock), read at each scrape. */
  clockOffsetMs?: () => number;
  /** The error codes a failed upload may be counted by (the store's known ones): each series starts at 0. */
  uploadFailureCodes?: readonly string[];
}

/**
 * The daemon's Prometheus metrics, in a registry of its own (not prom-client's global one, so tests and
 * several stations in one process never share counters), with Node's default process metrics.
 */
export class StationMetrics {
  readonly registry = new Registry();
  readonly segmentsUploaded = new Counter({ name: 'radio_segments_uploaded_total', help: 'Segment files stored in the bucket, by stream.', labelNames: ['stream'] as const, registers: [this.registry] });
  readonly uploadFailures = new Counter({
    name: 'radio_upload_failures_total',
    help: 'Failed publishes, by the stream of the object that failed (hq, lq, manifest, or lock: the station lock read before each segment) and the S3 or network error code.',
    labelNames: ['stream', 'code'] as const,
    registers: [this.registry],
  });
  readonly uploadSeconds = new Histogram({
    name: 'radio_upload_seconds',
    help: 'Time to publish one segment: both files, the manifest and the expired deletes.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly clockOffsetSeconds: Gauge;
  readonly inputPeakDbfs = new Gauge({ name: 'radio_input_peak_dbfs', help: 'Input peak level over the last second, in dBFS (0 is full scale).', labelNames: ['channel'] as const, registers: [this.registry] });
  readonly inputRmsDbfs = new Gauge({ name: 'radio_input_rms_dbfs', help: 'Input RMS level over the last second, in dBFS (a full-scale sine is -3.01).', labelNames: ['channel'] as const, registers: [this.registry] });
  readonly silenceSeconds = new Gauge({ name: 'radio_silence_seconds', help: 'How long the input has been under the dead-air threshold; 0 while there is audio.', registers: [this.registry] });
  readonly clippedSamples = new Counter({ name: 'radio_clipped_samples_total', help: 'Input samples at or within 1 LSB of full scale, all channels.', registers: [this.registry] });
  readonly queueSegments = new Gauge({ name: 'radio_queue_segments', help: 'Encoded segments waiting for upload.', registers: [this.registry] });
  readonly archiveBytes = new Counter({ name: 'radio_archive_bytes_total', help: 'Bytes written to the archive recording.', registers: [this.registry] });

  constructor(options: StationMetricsOptions = {}) {
    const { clockOffsetMs, uploadFailureCodes = [] } = options;
    this.clockOffsetSeconds = new Gauge({
      name: 'radio_clock_offset_seconds',
      help: 'Seconds to add to this host\'s clock to get the storage endpoint\'s, as last measured.',
      registers: [this.registry],
      ...(clockOffsetMs && { collect(this: Gauge) { this.set(clockOffsetMs() / 1000); } }),
    });
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_MS });
    // A labelled series exists only once incremented, and `increase()` cannot see its first increment:
    // every label value known in advance starts at 0.
    for (const stream of STREAM_NAMES) this.segmentsUploaded.inc({ stream }, 0);
    for (const stream of UPLOAD_FAILURE_STREAMS) {
      for (const code of uploadFailureCodes) this.uploadFailures.inc({ stream, code }, 0);
    }
  }

  /** The levels of one meter window, labelled by `channels` (see `channelNames`). */
  recordLevels(reading: LevelReading, channels: readonly string[]): void {
    channels.forEach((channel, i) => {
      this.inputPeakDbfs.set({ channel }, reading.peakDbfs[i]!);
      this.inputRmsDbfs.set({ channel }, reading.rmsDbfs[i]!);
    });
    this.silenceSeconds.set(reading.silenceSeconds);
    if (reading.clipped > 0) this.clippedSamples.inc(reading.clipped);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
