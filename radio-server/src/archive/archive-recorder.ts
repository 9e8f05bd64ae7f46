import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Logger } from '../ops/logger.js';
import type { PcmFormat, PcmSamples } from '../segment/pcm.js';
import { ARCHIVE_ENCODER, ArchiveFile } from './archive-file.js';
import { moveIntoRecordings } from './move-file.js';
import { recordingName } from './recording-name.js';
import { salvage } from './recover-staging.js';

export interface ArchiveRecorderOptions {
  /** The captured signal: 16 or 24 bits, 1 or 2 channels; recorded at its own bit depth. */
  format: PcmFormat;
  /** Where the recording in progress is written (one file at a time). */
  stagingDir: string;
  /** Where finished recordings go; may be on another filesystem. */
  recordingsDir: string;
  /** Written into each recording's Vorbis comments. */
  station: string;
  log: Logger;
  /** Recordings are cut where the UTC clock passes a multiple of this; default 3600 (on the hour). */
  rotateSeconds?: number;
  /** libFLAC compression level, 0..8; default 5. */
  compressionLevel?: number;
  /** Encode and fdatasync the staging file at least this often; default 1000. */
  syncIntervalMs?: number;
  /** After a write failed, audio is dropped for this long before a new file is tried; default 10 s. */
  retryIntervalMs?: number;
  /** Captured audio waiting to be written beyond this means the disk is too slow: it is dropped; default 30 s. */
  maxBacklogSeconds?: number;
  /** The wall clock; read at the first block (the time base) and to time retries. */
  now?: () => Date;
  /** Called after each fdatasync of the staging file (e.g. for metrics); must not throw. */
  onSynced?: (progress: ArchiveProgress) => void;
}

/** The recording's state for `/healthz` and the status line. */
export interface ArchiveHealth {
  ok: boolean;
  state: 'recording' | 'waiting' | 'disk-full' | 'failing' | 'hung' | 'closed';
  detail: string;
}

/** A write or sync of the archive pending this long means its disk hangs. */
const HUNG_AFTER_MS = 5000;

/** What is safely on disk after a sync. */
export interface ArchiveProgress {
  /** The staging file being recorded. */
  path: string;
  /** Frames of audio in it, all durable. */
  frames: number;
  /** Bytes written to the archive since the recorder was made, all files. */
  bytesWritten: number;
}

interface Block {
  /** Index of the block's first frame since the first block written (the sample clock). */
  startFrame: number;
  samples: PcmSamples;
}

interface Recording {
  file: ArchiveFile;
  startFrame: number;
  /** The frame after the last one given to the encoder. */
  endFrame: number;
  /** The first frame of the next recording: where the UTC clock passes the next rotation time. */
  boundaryFrame: number;
}

/** A run of failed writes: reported once, ended by a successful sync of a file begun after it. */
interface FailureStreak {
  /** The first frame that is not in the archive. */
  fromFrame: number;
  /** What failed: the error's code (ENOSPC, EIO) and message. */
  code: string | undefined;
  message: string;
  lastAttemptMs: number;
  /** A new file is being tried (blocks are queued again). */
  retrying: boolean;
}

/**
 * Records the captured programme into FLAC files, one per rotation period (an hour), named by the UTC time
 * of their first sample. `write` only queues the block; a single worker, on a later turn of the event loop,
 * encodes the queue with libFLAC and writes the frames, so the live pipeline never waits on the disk. It
 * runs once a second of audio is queued, at each sync and at each flush: a second at a time instead of each
 * captured block takes 3 to 6 % off the daemon's CPU (side by side at real time; libFLAC on warm caches, one
 * wake-up a second instead of ten). Files are cut by sample
 * count from the time of the first block, so consecutive recordings join without a sample lost or doubled.
 * A disk that fails (full, read-only, gone) is logged once per streak; audio for the archive is dropped and
 * a new recording begins when writing works again. Run `recoverStaging` before the first recorder.
 */
export class ArchiveRecorder {
  private readonly channels: number;
  private readonly rate: number;
  private readonly rotateMs: number;
  private readonly retryIntervalMs: number;
  private readonly maxBacklogFrames: number;
  /** Queued audio that starts the encoder without waiting for the next sync: a second. */
  private readonly batchFrames: number;
  private readonly now: () => Date;
  private readonly timer: NodeJS.Timeout;
  private readonly background = new Set<Promise<unknown>>();
  /** Wall-clock time (ms) of frame 0. */
  private timeBaseMs: number | undefined;
  private framesIn = 0;
  private queue: Block[] = [];
  private queuedFrames = 0;
  private recording: Recording | undefined;
  private failure: FailureStreak | undefined;
  private worker: Promise<void> | undefined;
  private syncDue = false;
  private closing: Promise<void> | undefined;
  private bytesOfPastFiles = 0;
  /** When the disk operation in progress began (monotonic ms); undefined while none is. */
  private busySince: number | undefined;
  /** A bounded flush still waiting for the disk, and when it began. */
  private pendingFlush: { done: Promise<void>; since: number } | undefined;

  constructor(private readonly options: ArchiveRecorderOptions) {
    this.channels = options.format.channels;
    this.rate = options.format.sampleRate;
    this.rotateMs = Math.round((options.rotateSeconds ?? 3600) * 1000);
    this.retryIntervalMs = options.retryIntervalMs ?? 10_000;
    this.maxBacklogFrames = (options.maxBacklogSeconds ?? 30) * this.rate;
    this.batchFrames = this.rate;
    this.now = options.now ?? (() => new Date());
    if (!(this.rotateMs > 0)) throw new RangeError('rotateSeconds must be positive');
    if (resolve(options.stagingDir) === resolve(options.recordingsDir)) throw new RangeError('the staging and recordings directories must differ');
    this.timer = setInterval(() => {
      if (!this.recording?.file.dirty && !this.queue.length) return;
      this.syncDue = true;
      this.kick();
    }, options.syncIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Bytes written to the archive so far, all files (for `radio_archive_bytes_total`). */
  get bytesWritten(): number {
    return this.bytesOfPastFiles + (this.recording?.file.bytesWritten ?? 0);
  }

  /** Queues one captured block (interleaved, whole frames; kept, not copied: see PcmSource). Cheap, never blocks, never throws. */
  write(block: PcmSamples): void {
    if (this.closing || block.length === 0) return;
    const frames = block.length / this.channels;
    this.timeBaseMs ??= Math.round(this.now().getTime() - (frames * 1000) / this.rate);
    const startFrame = this.framesIn;
    this.framesIn += frames;
    if (this.failure && !this.failure.retrying) {
      if (this.now().getTime() - this.failure.lastAttemptMs < this.retryIntervalMs) return;
      this.failure.retrying = true;
    }
    if (this.queuedFrames + frames > this.maxBacklogFrames) {
      const seconds = this.queuedFrames / this.rate;
      const where = this.recording?.file.path ?? this.options.stagingDir;
      this.noteFailure(new Error(`writing fell ${seconds.toFixed(1)} s behind the capture`), where, this.queue[0]?.startFrame ?? startFrame);
      return;
    }
    this.queue.push({ startFrame, samples: block });
    this.queuedFrames += frames;
    if (this.queuedFrames >= this.batchFrames) this.kick();
  }

  /** Resolves once everything written so far is in the staging file and synced (but libFLAC's partial frame). */
  async flush(): Promise<void> {
    this.syncDue = true;
    this.kick();
    while (this.worker) await this.worker;
  }

  /**
   * `flush`, waiting at most `ms` (the live stream must not wait on a hung disk); resolves whether it
   * finished. While an earlier one is still pending past `ms`, resolves false at once.
   */
  async flushWithin(ms: number): Promise<boolean> {
    const now = performance.now();
    if (this.pendingFlush && now - this.pendingFlush.since >= ms) return false;
    const pending = (this.pendingFlush ??= { done: this.flush().finally(() => (this.pendingFlush = undefined)), since: now });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms - (now - pending.since)))));
    return Promise.race([pending.done.then(() => true), late]).finally(() => clearTimeout(timer));
  }

  /** The recording's state: recording, waiting for audio, disk full, failing (another error), hung (a write pending for 5 s). */
  health(): ArchiveHealth {
    const busyFor = this.busySince === undefined ? 0 : performance.now() - this.busySince;
    if (busyFor > HUNG_AFTER_MS) return { ok: false, state: 'hung', detail: `the recordings disk has not finished a write for ${(busyFor / 1000).toFixed(1)} s (hung?): audio is left out of the archive, the live stream goes on` };
    if (this.failure) {
      const full = this.failure.code === 'ENOSPC';
      return { ok: false, state: full ? 'disk-full' : 'failing', detail: full ? `the recordings disk is full (${this.options.stagingDir}): audio is left out of the archive until there is room` : `cannot write the archive: ${this.failure.message}` };
    }
    if (this.closing) return { ok: true, state: 'closed', detail: 'closed' };
    if (!this.recording) return { ok: true, state: 'waiting', detail: this.timeBaseMs === undefined ? 'waiting for audio' : 'starting a recording' };
    return { ok: true, state: 'recording', detail: `recording ${basename(this.recording.file.path)} (${((this.recording.endFrame - this.recording.startFrame) / this.rate).toFixed(0)} s)` };
  }

  /** Stops recording: the current file is finished (STREAMINFO complete) and moved to recordings. Never throws. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      this.kick();
      while (this.worker) await this.worker;
      if (this.recording) await this.endRecording().catch((error: unknown) => this.fail(error));
      while (this.background.size) await Promise.allSettled([...this.background]);
    })();
    return this.closing;
  }

  private kick(): void {
    // The worker starts on the next turn of the event loop: encoding never runs inside `write`.
    this.worker ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.work())
      .catch((error: unknown) => this.options.log.error({ err: error }, 'archive: unexpected failure of the archive writer'))
      .finally(() => {
        this.worker = undefined;
        if (this.queue.length && (this.syncDue || this.closing || this.queuedFrames >= this.batchFrames)) this.kick();
      });
  }

  private async work(): Promise<void> {
    while (this.queue.length || this.syncDue) {
      const block = this.queue.shift();
      this.busySince = performance.now();
      try {
        if (block) {
          this.queuedFrames -= block.samples.length / this.channels;
          await this.record(block);
        }
        // Synced once the queue is encoded: a flush covers everything written before it.
        if (this.syncDue && !this.queue.length) {
          this.syncDue = false;
          await this.sync();
        }
      } catch (error) {
        await this.fail(error, block?.startFrame);
      } finally {
        this.busySince = undefined;
      }
    }
  }

  private async record(block: Block): Promise<void> {
    let { startFrame, samples } = block;
    while (samples.length) {
      // A recording is an unbroken run of the signal: after dropped audio a new one begins.
      if (this.recording && this.recording.endFrame !== startFrame) await this.endRecording();
      const recording = this.recording ?? (await this.startRecording(startFrame));
      const take = Math.min(samples.length / this.channels, recording.boundaryFrame - startFrame);
      await recording.file.append(samples.subarray(0, take * this.channels));
      recording.endFrame += take;
      startFrame += take;
      samples = samples.subarray(take * this.channels);
      if (recording.endFrame === recording.boundaryFrame) await this.endRecording();
    }
  }

  /** The wall-clock time (ms, fractional) of a frame of the run. */
  private timeOf(frame: number): number {
    return this.timeBaseMs! + (frame * 1000) / this.rate;
  }

  private async startRecording(startFrame: number): Promise<Recording> {
    const { options } = this;
    const startMs = this.timeOf(startFrame);
    const boundaryMs = (Math.floor(startMs / this.rotateMs) + 1) * this.rotateMs;
    // The first frame at or after the boundary; exact, as both times are whole milliseconds.
    const boundaryFrame = Math.ceil(((boundaryMs - this.timeBaseMs!) * this.rate) / 1000);
    const iso = new Date(Math.round(startMs)).toISOString();
    const comments = [`TITLE=${options.station} ${iso}`, `ORGANIZATION=${options.station}`, `DATE=${iso}`, `ENCODER=${ARCHIVE_ENCODER}`];
    await mkdir(options.stagingDir, { recursive: true });
    for (let duplicate = 0; ; duplicate++) {
      const path = join(options.stagingDir, recordingName(new Date(startMs), duplicate));
      try {
        const file = await ArchiveFile.create({ path, format: options.format, compressionLevel: options.compressionLevel ?? 5, comments });
        this.recording = { file, startFrame, endFrame: startFrame, boundaryFrame };
        return this.recording;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }

  private async sync(): Promise<void> {
    const recording = this.recording;
    if (!recording?.file.dirty) return;
    await recording.file.sync();
    this.succeeded(recording);
    try {
      this.options.onSynced?.({ path: recording.file.path, frames: recording.file.framesWritten, bytesWritten: this.bytesWritten });
    } catch (error) {
      this.options.log.warn({ err: error }, 'archive: the onSynced hook failed');
    }
  }

  /** Finishes the current recording and moves it to recordings in the background. */
  private async endRecording(): Promise<void> {
    const recording = this.recording!;
    await recording.file.finish(); // on failure it is still current: `fail` abandons and salvages it
    this.recording = undefined;
    this.bytesOfPastFiles += recording.file.bytesWritten;
    this.succeeded(recording);
    this.inBackground(this.moveToRecordings(recording));
  }

  private async moveToRecordings({ file, startFrame, endFrame }: Recording): Promise<void> {
    const { log, recordingsDir } = this.options;
    try {
      await mkdir(recordingsDir, { recursive: true });
      const target = await moveIntoRecordings(file.path, recordingsDir);
      log.info({ file: target, frames: endFrame - startFrame }, `archive: recorded ${basename(target)} (${((endFrame - startFrame) / this.rate).toFixed(3)} s)`);
    } catch (error) {
      log.error({ err: error, file: file.path }, `archive: could not move ${basename(file.path)} into ${recordingsDir} (${(error as Error).message}); it stays in staging and is moved at the next start`);
    }
  }

  /** A sync or finish worked: if it was of a file begun after a failure streak, the streak is over. */
  private succeeded(recording: Recording): void {
    if (!this.failure || recording.startFrame < this.failure.fromFrame) return;
    const lost = (recording.startFrame - this.failure.fromFrame) / this.rate;
    this.options.log.info({ file: recording.file.path }, `archive: recording again into ${basename(recording.file.path)}; ${lost.toFixed(3)} s of audio from ${new Date(Math.round(this.timeOf(this.failure.fromFrame))).toISOString()} are not in the archive`);
    this.failure = undefined;
  }

  /** Starts or continues a failure streak (one ERROR per streak) and drops the queued audio. */
  private noteFailure(error: unknown, where: string, fromFrame: number): void {
    if (!this.failure) {
      this.options.log.error({ err: error, file: where }, `archive: cannot write ${where}: ${(error as Error).message}; audio is left out of the archive until writing works again (the live stream goes on)`);
      this.failure = { fromFrame, lastAttemptMs: 0, retrying: false, code: (error as NodeJS.ErrnoException).code, message: (error as Error).message };
    } else {
      this.options.log.debug({ err: error }, 'archive: writing still fails');
    }
    this.failure.lastAttemptMs = this.now().getTime();
    this.failure.retrying = false;
    this.queue = [];
    this.queuedFrames = 0;
  }

  /** A write, sync or finish failed: the file is closed as it is, then repaired and moved in the background. */
  private async fail(error: unknown, blockFrame = this.framesIn): Promise<void> {
    const recording = this.recording;
    this.recording = undefined;
    const where = recording?.file.path ?? this.options.stagingDir;
    this.noteFailure(error, where, recording ? recording.startFrame + recording.file.framesWritten : blockFrame);
    if (!recording) return;
    this.bytesOfPastFiles += recording.file.bytesWritten;
    await recording.file.abandon();
    this.inBackground(salvage(recording.file.path, this.options.recordingsDir, this.options.log));
  }

  private inBackground(task: Promise<unknown>): void {
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }
}
