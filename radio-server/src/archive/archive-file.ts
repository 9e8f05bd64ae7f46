import { open, unlink, type FileHandle } from 'node:fs/promises';
import { format as flacFormat, metadata, type Encoder } from 'flac-bindings/api';
import { asFlacInput, openFlacStream, type FlacSink } from '../encode/flac-stream.js';
import type { PcmFormat, PcmSamples } from '../segment/pcm.js';

/**
 * Frames per FLAC frame in recordings: libFLAC holds back at most this much (and one more). The live
 * station releases a segment only once this many frames after it are captured, so everything up to a
 * segment's end is in the staging file (synced) before the segment is published: the archive never holds
 * less than what went out live, even after a SIGKILL. Costs ~1 % of compression.
 */
export const ARCHIVE_BLOCKSIZE = 1152;

/** Encoded bytes held before they are written without waiting for the next sync (about 2 s of audio). */
const WRITE_BATCH_BYTES = 256 * 1024;

/** The encoder named in each recording's ENCODER comment. */
export const ARCHIVE_ENCODER = `radio-server archive (${flacFormat.VENDOR_STRING})`;

export interface ArchiveFileOptions {
  path: string;
  format: PcmFormat;
  compressionLevel: number;
  /** Vorbis comments, `FIELD=value`. */
  comments: readonly string[];
}

interface PendingWrite {
  position: number;
  bytes: Buffer;
  /** Frames of audio in these bytes (0 for metadata). */
  samples: number;
}

/**
 * One FLAC recording being written to disk by libFLAC. The bytes libFLAC produces are queued and written
 * at their positions after each call (frames append; at the end libFLAC seeks back to complete
 * STREAMINFO), so the file on disk is always a run of whole frames plus at most one being written: what
 * crash recovery expects. libFLAC's synchronous API: a captured block encodes in well under a millisecond,
 * and the Async API's thread-pool round trips cost half as much CPU again and ~10 MB of RSS (measured).
 */
export class ArchiveFile implements FlacSink {
  /** Frames of audio in whole FLAC frames written to the file so far. */
  framesWritten = 0;
  /** Bytes written to the file so far. */
  bytesWritten = 0;
  /** Written (or encoded and waiting to be written) since the last sync. */
  get dirty(): boolean {
    return this.unsynced || this.pending.length > 0;
  }
  private unsynced = false;
  /** Where libFLAC writes next (it seeks back at the end to complete STREAMINFO). */
  position = 0;
  private pending: PendingWrite[] = [];
  private pendingBytes = 0;
  private encoder!: Encoder;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly format: PcmFormat,
  ) {}

  /** Creates the file (never over an existing one) and writes the FLAC metadata. */
  static async create(options: ArchiveFileOptions): Promise<ArchiveFile> {
    const file = new ArchiveFile(options.path, await open(options.path, 'wx'), options.format);
    try {
      const comments = new metadata.VorbisCommentMetadata();
      for (const comment of options.comments) comments.appendComment(comment);
      file.encoder = openFlacStream({ format: options.format, compressionLevel: options.compressionLevel, metadata: [comments], blocksize: ARCHIVE_BLOCKSIZE }, file);
      await file.writePending();
      return file;
    } catch (error) {
      await file.abandon();
      await unlink(options.path).catch(() => undefined); // it holds no audio
      throw error;
    }
  }

  /**
   * Encodes interleaved samples (on this thread). The frames libFLAC completes are written with the next
   * sync, or once WRITE_BATCH_BYTES are waiting: one write a second instead of one per captured block.
   */
  async append(samples: PcmSamples): Promise<void> {
    const frames = samples.length / this.format.channels;
    if (!this.encoder.processInterleaved(asFlacInput(samples), frames)) throw new Error(`libFLAC could not encode: ${this.encoder.getResolvedStateString()}`);
    if (this.pendingBytes >= WRITE_BATCH_BYTES) await this.writePending();
  }

  /** Writes what is waiting, then fdatasync: what was encoded survives a power cut. */
  async sync(): Promise<void> {
    await this.writePending();
    await this.handle.datasync();
    this.unsynced = false;
  }

  /** Encodes the last partial frame, completes STREAMINFO (totals, MD5), syncs and closes. */
  async finish(): Promise<void> {
    if (!this.encoder.finish()) throw new Error(`libFLAC could not finish: ${this.encoder.getResolvedStateString()}`);
    await this.writePending();
    await this.sync();
    await this.handle.close();
  }

  /** Closes the file as it is after a failure; crash recovery can complete it. */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  /** libFLAC's output: queued, and written to the file by the next append (or finish). */
  write(bytes: Buffer, samples: number): void {
    this.pending.push({ position: this.position, bytes: Buffer.from(bytes), samples });
    this.pendingBytes += bytes.length;
    this.position += bytes.length;
  }

  private async writePending(): Promise<void> {
    this.pendingBytes = 0;
    for (const { position, bytes, samples } of coalesce(this.pending.splice(0))) {
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
        done += bytesWritten;
        this.bytesWritten += bytesWritten;
        this.unsynced = true;
      }
      this.framesWritten += samples;
    }
  }
}

/** Joins chunks that follow each other in the file into one write (libFLAC hands over a frame in pieces). */
function coalesce(chunks: { position: number; bytes: Buffer; samples: number }[]): { position: number; bytes: Buffer; samples: number }[] {
  const runs: { position: number; parts: Buffer[]; length: number; samples: number }[] = [];
  for (const chunk of chunks) {
    const run = runs.at(-1);
    if (run && run.position + run.length === chunk.position) {
      run.parts.push(chunk.bytes);
      run.length += chunk.bytes.length;
      run.samples += chunk.samples;
    } else {
      runs.push({ position: chunk.position, parts: [chunk.bytes], length: chunk.bytes.length, samples: chunk.samples });
    }
  }
  return runs.map((run) => ({ position: run.position, bytes: run.parts.length === 1 ? run.parts[0]! : Buffer.concat(run.parts, run.length), samples: run.samples }));
}
