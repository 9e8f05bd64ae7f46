import { FlacTrackEncoder } from '../encode/flac-track-encoder.js';
import { OpusTrackEncoder } from '../encode/opus-track-encoder.js';
import { ENCODER_POST_ROLL } from '../encode/segment-encoder.js';
import { openSource } from '../capture/open-source.js';
import { ARCHIVE_BLOCKSIZE } from '../archive/archive-file.js';
import { ArchiveRecorder } from '../archive/archive-recorder.js';
import { recoverStaging } from '../archive/recover-staging.js';
import { checkEnvFilePermissions } from '../ops/env-file-check.js';
import { Health } from '../ops/health.js';
import { LevelMeter } from '../ops/level-meter.js';
import type { Logger } from '../ops/logger.js';
import { StationMetrics } from '../ops/metrics.js';
import { startOpsServer } from '../ops/ops-server.js';
import { RateLimitedLog } from '../ops/rate-limited-log.js';
import type { StatusLine } from '../ops/status-line.js';
import { CLOCK_OFFSET_POLICY, ClockOffset } from '../publish/clock-offset.js';
import { storageRequestPolicy } from '../publish/request-policy.js';
import { KNOWN_STORAGE_ERROR_CODES } from '../publish/s3-errors.js';
import { S3Store } from '../publish/s3-store.js';
import { StationOutlet } from '../publish/station-outlet.js';
import { Station, type StationHooks } from '../pipeline/station.js';
import { CleanupStack } from '../shared/cleanup-stack.js';
import { stationHooks } from './station-hooks.js';
import { loggableConfig, type DaemonConfig } from './config.js';
import type { RunOptions } from './run-command.js';

/** Encoded segments held during an outage: one minute at 10 s segments (about 14 MB). */
const UPLOAD_QUEUE_SEGMENTS = 6;

/** The station as assembled: what `runLifecycle` runs and stops, and how to release it all. */
export interface AssembledStation {
  station: Station;
  recorder: ArchiveRecorder;
  /** The repair of a recording a crash left in staging, started with the station. */
  recovery: Promise<unknown>;
  /** Settles once the recording is closed (capture ended), with its bytes counted. */
  recordingClosed(): Promise<void>;
  log: Logger;
  /** Releases everything acquired, in reverse order: the ops server, the store's connections, the clock probe, the status line. */
  release(): Promise<void>;
}

/**
 * The composition root of `radio-server run`: opens the source, the store, the archive and the operator's
 * view, and joins them into a Station. Nothing here touches the network: the store is reached by the
 * station's publishing stage, once it runs. On a failed start, everything acquired so far is released.
 */
export async function assembleStation(config: DaemonConfig, options: RunOptions, log: Logger, status: StatusLine | undefined, shutdown: AbortSignal): Promise<AssembledStation> {
  const resources = new CleanupStack();
  if (status) resources.defer(() => status.close());
  try {
    await checkEnvFilePermissions(log);
    const source = resources.use(await openSource(options), (s) => s.stop());
    log.info({ config: loggableConfig(config), source: source.description }, `capturing ${source.description}`);
    const policy = storageRequestPolicy(options.segmentSeconds);
    const store = resources.use(new S3Store({ target: config.storage, log, policy }), (s) => s.destroy());
    const clockOffsetMs = () => store.clockOffsetMs;
    const clockOffset = resources.use(new ClockOffset({ target: config.storage, clock: store, log, signal: shutdown, timeoutMs: policy.attemptTimeoutMs }), (c) => c.stop());

    const recorder = new ArchiveRecorder({ format: source.format, stagingDir: config.stagingDir, recordingsDir: config.recordingsDir, station: config.station, log });
    const archive = () => recorder.health();
    const metrics = new StationMetrics({ clockOffsetMs, uploadFailureCodes: KNOWN_STORAGE_ERROR_CODES });
    const health = new Health({ segmentSeconds: options.segmentSeconds, clockOffsetMs, archive, policy: { clockOffsetLimitMs: CLOCK_OFFSET_POLICY.errorAboveMs } });
    if (config.metricsPort) resources.use(await startOpsServer({ port: config.metricsPort, metrics, health, log }), (ops) => ops.close());
    // A recording left in staging by a crash is repaired and moved while the station starts.
    const recovery = recoverStaging(config.stagingDir, config.recordingsDir, log);

    let archivedBytes = 0;
    const countArchiveBytes = () => {
      metrics.archiveBytes.inc(recorder.bytesWritten - archivedBytes);
      archivedBytes = recorder.bytesWritten;
    };
    let recordingClosed: Promise<void> | undefined;
    const closeRecording = () => (recordingClosed ??= recorder.close().then(countArchiveBytes));
    // On a failed start the recording is empty and closes at once; a hung disk must not hold the exit.
    resources.defer(() => Promise.race([closeRecording(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]));
    // The archive never holds less than what was published, unless its disk hangs: then the live stream
    // goes on without it (a bounded wait, and none while an earlier flush is still stuck).
    const flushWaitMs = Math.min(3000, Math.max(1000, options.segmentSeconds * 500));
    const slowArchive = new RateLimitedLog({ log });
    const beforePublish = async () => {
      if (await recorder.flushWithin(flushWaitMs)) return countArchiveBytes();
      slowArchive.warn('archive flush', {}, `archive: the recordings disk did not sync within ${flushWaitMs / 1000} s: publishing without waiting for it (the live stream goes on; see /healthz)`);
    };

    const outlet = new StationOutlet({
      store,
      clockOffset,
      station: { station: config.station, segmentSeconds: options.segmentSeconds, format: source.format, opusBitrate: options.opusBitrate },
      window: options.window,
      keepExtra: options.keepExtra,
      takeover: options.takeover ?? false,
      log,
    });
    const segmentFrames = Math.round(options.segmentSeconds * source.format.sampleRate);
    const view = stationHooks({ metrics, health, meter: new LevelMeter(source.format, log, { deadAirBelowDbfs: options.deadAirDbfs, deadAirAfterSeconds: options.deadAirSeconds }), ...(status && { status }), clockOffsetMs, archive });
    const station = new Station({
      source,
      segmentSeconds: options.segmentSeconds,
      encoders: (runSeq) => [
        new FlacTrackEncoder({ format: source.format, compressionLevel: options.flacLevel, segmentFrames, runSeq }),
        new OpusTrackEncoder({ format: source.format, bitrate: options.opusBitrate, segmentFrames, runSeq }),
      ],
      // Released once the encoders' lookahead and the archive's FLAC block after it are captured, so the
      // recording is synced up to the segment's end before it is published (see ARCHIVE_BLOCKSIZE).
      postRollFrames: Math.max(ENCODER_POST_ROLL, ARCHIVE_BLOCKSIZE + 1),
      publisher: outlet,
      // Seqs from the clock (one per segment length since 1970): never reused across restarts, even when
      // the bucket's manifest was lost. Connecting moves them past the bucket's last seq if need be.
      firstSeq: Math.floor(Date.now() / (options.segmentSeconds * 1000)),
      log,
      uploadQueueSegments: UPLOAD_QUEUE_SEGMENTS,
      retryDelayMs: 1000,
      connectRetryMaxMs: Math.min(5000, Math.max(1000, options.segmentSeconds * 500)),
      signOffTimeoutMs: SIGN_OFF_TIMEOUT_MS,
      captureStallMs: options.stallSeconds * 1000,
      signal: shutdown,
      hooks: withArchive(view, {
        captured: (block) => recorder.write(block),
        beforePublish,
        // Shutdown order: capture stops, the recording is closed and moved, then the last uploads finish.
        captureEnded: () => void closeRecording(),
      }),
    });
    return { station, recorder, recovery, recordingClosed: closeRecording, log, release: () => resources.release() };
  } catch (error) {
    await resources.release().catch((failure: unknown) => log.warn({ err: failure }, 'releasing what was opened before the failed start failed too'));
    throw error;
  }
}

/** How long the final manifest may take after the uploads' deadline (see station-lifecycle.ts). */
export const SIGN_OFF_TIMEOUT_MS = 7000;

/** The operator's hooks with the archive's added: each event goes to both. */
function withArchive(view: StationHooks, archive: Required<Pick<StationHooks, 'captured' | 'beforePublish' | 'captureEnded'>>): StationHooks {
  return {
    ...view,
    captured(block) {
      archive.captured(block);
      view.captured?.(block);
    },
    beforePublish: archive.beforePublish,
    captureEnded: archive.captureEnded,
  };
}
