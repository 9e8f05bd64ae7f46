import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DecoderBuilder } from 'flac-bindings/api';
import type { Logger } from '../ops/logger.js';
import { walkFrames } from './flac-frames.js';
import { NotFlacError, patchStreamInfo, readFlacHead } from './flac-metadata.js';
import { moveIntoRecordings } from './move-file.js';

/** libFLAC's FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE. */
const WRITE_CONTINUE = 0;

/** What repairing one file found. */
export interface Repair {
  samples: number;
  sampleRate: number;
  /** Bytes cut from the end: a torn last frame, or anything after it. */
  cutBytes: number;
}

/**
 * Makes a FLAC file whose encoder never finished complete: cuts it after the last frame whose CRC-16
 * checks, then decodes it with libFLAC to count its samples and compute the MD5 of the audio, and writes
 * those (and the frame sizes) into STREAMINFO. Returns undefined when the file holds no whole frame.
 * Throws NotFlacError when its metadata is not there to repair.
 */
export async function repairRecording(path: string): Promise<Repair | undefined> {
  const file = await open(path, 'r+');
  try {
    const { size } = await file.stat();
    const head = await readFlacHead(file);
    const walk = await walkFrames(file, head.audioOffset);
    if (walk.frames === 0) return undefined;
    if (walk.validEnd < size) await file.truncate(walk.validEnd);
    const { samples, md5 } = await decodeForMd5(path, head.streamInfo.bitsPerSample);
    if (samples !== walk.samples) throw new Error(`libFLAC decoded ${samples} samples where the frame headers count ${walk.samples}`);
    await patchStreamInfo(file, { minFrameBytes: walk.minFrameBytes, maxFrameBytes: walk.maxFrameBytes, totalSamples: samples, md5 });
    await file.datasync();
    return { samples, sampleRate: head.streamInfo.sampleRate, cutBytes: size - walk.validEnd };
  } finally {
    await file.close();
  }
}

/** Decodes a whole FLAC file; returns its sample count and the MD5 STREAMINFO carries (interleaved little-endian samples). */
async function decodeForMd5(path: string, bitsPerSample: number): Promise<{ samples: number; md5: Buffer }> {
  const hash = createHash('md5');
  const width = Math.ceil(bitsPerSample / 8);
  const errors: number[] = [];
  let samples = 0;
  const decoder = await new DecoderBuilder().buildWithFileAsync(
    path,
    (frame, channels) => {
      const count = frame.header.blocksize;
      // libFLAC hands each channel as 32-bit integers; views need 4-byte alignment, else a copy.
      const views = channels.map((c) => (c.byteOffset % 4 === 0 ? new Int32Array(c.buffer, c.byteOffset, count) : new Int32Array(Uint8Array.from(c).buffer)));
      const bytes = Buffer.allocUnsafe(count * views.length * width);
      let at = 0;
      for (let i = 0; i < count; i++) {
        for (const view of views) {
          const value = view[i]!;
          bytes[at++] = value & 0xff;
          bytes[at++] = (value >> 8) & 0xff;
          if (width === 3) bytes[at++] = (value >> 16) & 0xff;
        }
      }
      hash.update(bytes);
      samples += count;
      return WRITE_CONTINUE;
    },
    null,
    (error) => void errors.push(error),
  );
  const decoded = await decoder.processUntilEndOfStreamAsync();
  const state = decoder.getResolvedStateString();
  await decoder.finishAsync();
  if (!decoded || errors.length) throw new Error(`libFLAC could not decode it (errors ${errors.join(', ') || 'none'}, state ${state})`);
  return { samples, md5: hash.digest() };
}

/** One staging file dealt with by `recoverStaging` or `salvage`. */
export interface RecoveredFile {
  name: string;
  /** moved: repaired and in recordings; empty: deleted, it held no audio; damaged: renamed `*.damaged`; failed: left in staging. */
  outcome: 'moved' | 'empty' | 'damaged' | 'failed';
  /** Where it is now, for `moved`. */
  path?: string;
  repair?: Repair;
}

/**
 * At start: every `.flac` left in `stagingDir` (by a crash, or a move that failed) is repaired and moved
 * into `recordingsDir` (see `salvage`), each logged. Never throws. The directory is listed before this
 * returns, so the recorder may start at once and run alongside; repairing takes about 25 s per hour of
 * recording (mostly decoding it for the MD5).
 */
export function recoverStaging(stagingDir: string, recordingsDir: string, log: Logger): Promise<RecoveredFile[]> {
  let names: string[];
  try {
    names = readdirSync(stagingDir).filter((n) => n.endsWith('.flac')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.error({ err: error }, `archive: cannot read the staging directory ${stagingDir}: ${(error as Error).message}`);
    return Promise.resolve([]);
  }
  return (async () => {
    const recovered: RecoveredFile[] = [];
    for (const name of names) recovered.push(await salvage(join(stagingDir, name), recordingsDir, log));
    return recovered;
  })();
}

/**
 * Repairs one staging file and moves it into `recordingsDir`, logging what was done. One with no whole
 * frame is deleted; one that is not FLAC is renamed `*.damaged` for the operator; when the repair or the
 * move fails (a full or read-only disk) it is left in staging for the next start. Never throws.
 */
export async function salvage(path: string, recordingsDir: string, log: Logger): Promise<RecoveredFile> {
  const name = basename(path);
  try {
    const repair = await repairRecording(path);
    if (!repair) {
      await unlink(path);
      log.warn({ file: path }, `archive: deleted ${name} from staging: it held no whole FLAC frame`);
      return { name, outcome: 'empty' };
    }
    await mkdir(recordingsDir, { recursive: true });
    const target = await moveIntoRecordings(path, recordingsDir);
    const seconds = (repair.samples / repair.sampleRate).toFixed(3);
    const cut = repair.cutBytes ? `, ${repair.cutBytes} bytes of a torn last frame cut` : '';
    log.warn({ file: target, samples: repair.samples, cutBytes: repair.cutBytes }, `archive: recovered ${name} from staging (${seconds} s${cut}; STREAMINFO totals and MD5 rewritten) into ${target}`);
    return { name, outcome: 'moved', path: target, repair };
  } catch (error) {
    return await setAside(path, error, log);
  }
}

async function setAside(path: string, error: unknown, log: Logger): Promise<RecoveredFile> {
  const name = basename(path);
  try {
    if (error instanceof NotFlacError && error.truncated) {
      await unlink(path);
      log.warn({ file: path }, `archive: deleted ${name} from staging: ${error.message}, before any audio`);
      return { name, outcome: 'empty' };
    }
    if (error instanceof NotFlacError) {
      await rename(path, `${path}.damaged`);
      log.error({ file: `${path}.damaged` }, `archive: ${name} in staging is not a FLAC recording (${error.message}); left as ${name}.damaged`);
      return { name, outcome: 'damaged' };
    }
  } catch (cleanup) {
    error = cleanup;
  }
  log.error({ err: error, file: path }, `archive: could not recover ${name} (${(error as Error).message}); it stays in staging and is tried again at the next start`);
  return { name, outcome: 'failed' };
}
