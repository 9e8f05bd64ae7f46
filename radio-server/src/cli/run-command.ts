import { FlacTrackEncoder } from '../encode/flac-track-encoder.js';
import { OpusTrackEncoder } from '../encode/opus-track-encoder.js';
import { ENCODER_POST_ROLL } from '../encode/segment-encoder.js';
import { openSource, type SourceRequest } from '../capture/open-source.js';
import { ARCHIVE_BLOCKSIZE } from '../archive/archive-file.js';
import { ArchiveRecorder } from '../archive/archive-recorder.js';
import { recoverStaging } from '../archive/recover-staging.js';
import { checkEnvFilePermissions } from '../ops/env-file-check.js';
import { Health } from '../ops/health.js';
import { LevelMeter } from '../ops/level-meter.js';
import type { Logger } from '../ops/logger.js';
import { StationMetrics } from '../ops/metrics.js';
import { startOpsServer } from '../ops/ops-server.js';
import { stationHooks } from '../ops/station-hooks.js';
import type { StatusLine } from '../ops/status-line.js';
import { ClockOffset } from '../publish/clock-offset.js';
import { Publisher } from '../publish/publisher.js';
import { S3Store } from '../publish/s3-store.js';
import { Station, type StationHooks } from '../pipeline/station.js';
import { loggableConfig, type DaemonConfig } from './config.js';

export interface RunOptions extends SourceRequest {
  segmentSeconds: number;
  window: number;
  keepExtra: number;
  flacLevel: number;
  opusBitrate: number;
  /** Dead air: RMS under `deadAirDbfs` for `deadAirSeconds`. */
  deadAirDbfs: number;
  deadAirSeconds: number;
  /** The source delivering nothing for this long ends the run with exit code 1 (see Station). */
  stallSeconds: number;
}

/** How long a clean stop may spend on unsent segments before the final manifest: inside systemd's 35 s. */
const SHUTDOWN_UPLOAD_DEADLINE_MS = 20_000;
/** Encoded segments held during an outage: one minute at 10 s segments (about 14 MB). */
const UPLOAD_QUEUE_SEGMENTS = 6;

/**
 * `radio-server run`: the live station. Resolves with the exit code once the station is off air: 0 when
 * it signed off cleanly (source ended or SIGTERM/SIGINT), 1 when the final manifest could not be written
 * or the source stopped delivering audio (systemd then starts it again, which reopens the interface).
 */
export async function runStation(config: DaemonConfig, options: RunOptions, log: Logger, status?: StatusLine): Promise<number> {
  await checkEnvFilePermissions(log);
  const source = await openSource(options);
  log.info({ config: loggableConfig(config), source: source.description }, `capturing ${source.description}`);
  const store = new S3Store({ target: config.storage, log });
  const clockOffsetMs = () => store.clockOffsetMs;
  const metrics = new StationMetrics({ clockOffsetMs });
  const health = new Health({ segmentSeconds: options.segmentSeconds, clockOffsetMs });
  const ops = config.metricsPort ? await startOpsServer({ port: config.metricsPort, metrics, health, log }) : undefined;
  // A recording left in staging by a crash is repaired and moved while the station starts.
  const recovery = recoverStaging(config.stagingDir, config.recordingsDir, log);
  const recorder = new ArchiveRecorder({ format: source.format, stagingDir: config.stagingDir, recordingsDir: config.recordingsDir, station: config.station, log });
  let archivedBytes = 0;
  const countArchiveBytes = () => {
    metrics.archiveBytes.inc(recorder.bytesWritten - archivedBytes);
    archivedBytes = recorder.bytesWritten;
  };
  let recordingClosed: Promise<void> = Promise.resolve();
  const clockOffset = new ClockOffset({ target: config.storage, clock: store, log });
  await clockOffset.start(); // before the first PUT: a skewed clock would have it rejected
  const publisher = new Publisher({
    store,
    station: { station: config.station, segmentSeconds: options.segmentSeconds, format: source.format, opusBitrate: options.opusBitrate },
    window: options.window,
    keepExtra: options.keepExtra,
    log,
  });
  // Seqs from the clock (one per segment length since 1970) unless the bucket already went further:
  // never reused across restarts, even when the bucket's manifest was lost.
  const firstSeq = await publisher.resume(Math.floor(Date.now() / (options.segmentSeconds * 1000)));
  const segmentFrames = Math.round(options.segmentSeconds * source.format.sampleRate);
  const station = new Station({
    source,
    segmentSeconds: options.segmentSeconds,
    encoders: [
      new FlacTrackEncoder({ format: source.format, compressionLevel: options.flacLevel, segmentFrames, runSeq: firstSeq }),
      new OpusTrackEncoder({ format: source.format, bitrate: options.opusBitrate, segmentFrames, runSeq: firstSeq }),
    ],
    // Released once the encoders' lookahead and the archive's FLAC block after it are captured, so the
    // recording is synced up to the segment's end before it is published (see ARCHIVE_BLOCKSIZE).
    postRollFrames: Math.max(ENCODER_POST_ROLL, ARCHIVE_BLOCKSIZE + 1),
    publisher,
    firstSeq,
    log,
    uploadQueueSegments: UPLOAD_QUEUE_SEGMENTS,
    retryDelayMs: 1000,
    captureStallMs: options.stallSeconds * 1000,
    hooks: withArchive(stationHooks({ metrics, health, meter: new LevelMeter(source.format, log, { deadAirBelowDbfs: options.deadAirDbfs, deadAirAfterSeconds: options.deadAirSeconds }), ...(status && { status }), clockOffsetMs }), {
      captured: (block) => recorder.write(block),
      // The archive never holds less than what was published: what was captured is synced to disk first.
      beforePublish: () => recorder.flush().then(countArchiveBytes),
      // Shutdown order: capture stops, the recording is closed and moved, then the last uploads finish.
      captureEnded: () => void (recordingClosed = recorder.close().then(countArchiveBytes)),
    }),
  });
  log.info({ firstSeq }, `on air from segment ${firstSeq}`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    log.info({ signal }, `${signal}: stopping capture, publishing what was captured`);
    station.stop();
    setTimeout(() => station.abandonUploads(), SHUTDOWN_UPLOAD_DEADLINE_MS).unref();
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  try {
    const summary = await station.run();
    await recordingClosed;
    await recovery;
    log.info(summary, `published ${summary.published} segments, dropped ${summary.dropped}`);
    return summary.signedOff && !summary.captureStalled ? 0 : 1;
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    clockOffset.stop();
    store.destroy();
    status?.close();
    await ops?.close();
  }
}

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
