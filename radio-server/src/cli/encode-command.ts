// The keys alone: the manifest validator (zod) costs start-up time that encode does not need.
import { MANIFEST_KEY } from '@radio/protocol/keys';
import { WavFileSource } from '../capture/wav-file-source.js';
import { openWavFile } from '../capture/wav-file.js';
import { FlacTrackEncoder } from '../encode/flac-track-encoder.js';
import { ENCODER_POST_ROLL } from '../encode/segment-encoder.js';
import { OpusWorkerEncoder } from '../encode/worker-segment-encoder.js';
import type { Logger } from '../ops/logger.js';
import { DirectoryStore } from '../publish/directory-store.js';
import { PresentationWriter } from '../publish/presentation-writer.js';
import { Station } from '../pipeline/station.js';
import { ClassifiedError } from '../shared/classified-error.js';
import { UserError } from '../shared/user-error.js';

export interface EncodeOptions {
  out: string;
  segmentSeconds: number;
  flacLevel: number;
  opusBitrate: number;
  station: string;
}

export interface EncodeSummary {
  segments: number;
  frames: number;
  manifestPath: string;
}

/**
 * Segments are numbered from 1: segment seq starts at seq * length on the media timeline, and the Opus
 * priming packet lies just before the run's first segment, which at seq 0 would be before time zero.
 */
const FIRST_SEQ = 1;

/**
 * `radio-server encode`: the station's pipeline over a WAV file, read as fast as it is encoded (a source
 * that is not live is waited for, never dropped from), into a finished presentation in a folder: every
 * segment the live station would publish, with a manifest (live: false) listing all of them, written
 * last and atomically. libopus runs on a worker thread while libFLAC encodes the same segment here.
 */
export async function runEncode(input: string, options: EncodeOptions, log: Logger, now: () => Date = () => new Date()): Promise<EncodeSummary> {
  const wav = await openWavFile(input);
  if (wav.frames === 0) {
    await wav.close();
    throw new UserError(`input ${input} holds no audio frames`);
  }
  if (wav.truncatedBy !== undefined) {
    log.warn({ input, missingBytes: wav.truncatedBy, frames: wav.frames }, 'input is truncated: encoding up to its last whole frame');
  }
  const source = new WavFileSource(wav, { loop: false }); // closes the file once read
  const { format } = wav;
  const segmentFrames = Math.round(options.segmentSeconds * format.sampleRate);
  const writer = new PresentationWriter({ store: new DirectoryStore(options.out), station: { station: options.station, segmentSeconds: options.segmentSeconds, format, opusBitrate: options.opusBitrate }, now });
  const workers: OpusWorkerEncoder[] = [];
  const station = new Station({
    source,
    segmentSeconds: options.segmentSeconds,
    // One run whose length is known: the inits' edit lists say it, so players trim it exactly. The worker's
    // encoder first, so that it encodes each (shared) segment while libFLAC does on this thread.
    encoders: (runSeq) => {
      const track = { format, segmentFrames, runSeq, totalFrames: wav.frames };
      const opus = new OpusWorkerEncoder({ ...track, bitrate: options.opusBitrate });
      workers.push(opus);
      return [opus, new FlacTrackEncoder({ ...track, compressionLevel: options.flacLevel })];
    },
    sharedSegments: true,
    postRollFrames: ENCODER_POST_ROLL,
    publisher: writer,
    firstSeq: FIRST_SEQ,
    // The station's own progress lines (on air, off air) are for the daemon's journal: warnings and errors only.
    log: log.child({}, { level: 'warn' }),
    uploadQueueSegments: 2,
    retryDelayMs: 1000,
    now,
  });
  try {
    const summary = await station.run();
    // A source that is not live is never dropped from, and everything captured was written.
    if (summary.dropped > 0 || !summary.signedOff) throw new Error(`encode: ${summary.dropped} segments dropped, signed off: ${summary.signedOff}`);
  } catch (error) {
    // A write that cannot succeed (a full disk, a read-only folder): the operator's to fix, one sentence.
    if (error instanceof ClassifiedError && error.fatal) throw new UserError(error.message);
    throw error;
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
  return { segments: writer.published.length, frames: wav.frames, manifestPath: `${options.out}/${MANIFEST_KEY}` };
}
