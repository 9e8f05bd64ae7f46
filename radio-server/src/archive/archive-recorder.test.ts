import { copyFile, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEVEL, memoryLogger } from '../publish/testing/memory-log.js';
import type { PcmFormat } from '../segment/pcm.js';
import { ffmpegDecodeInt, flacTest } from '../testing/reference-decoders.js';
import { musicLike, sameSamples, seededRandom } from '../testing/signals.js';
import { runArchiveCheck } from './archive-check.js';
import { ARCHIVE_BLOCKSIZE } from './archive-file.js';
import { ArchiveRecorder, type ArchiveRecorderOptions } from './archive-recorder.js';
import { readFlacHead } from './flac-metadata.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const RATE = 48000;
const tempDir = useTempDirs('archive-recorder-');


/** Feeds `samples` in blocks of random sizes (as a capture would), the clock following the sample count. */
/** A recorder writing under `dir` (staging/ and recordings/), with `options` on top. */
function recorderIn(dir: string, options: Omit<ArchiveRecorderOptions, 'stagingDir' | 'recordingsDir' | 'station'>): ArchiveRecorder {
  return new ArchiveRecorder({ stagingDir: join(dir, 'staging'), recordingsDir: join(dir, 'recordings'), station: 'Radio Test FM', ...options });
}

async function feed(recorder: ArchiveRecorder, samples: Int32Array, channels: number, clock: { frames: number }): Promise<void> {
  const random = seededRandom(3);
  for (let at = 0; at < samples.length; ) {
    const frames = Math.min(64 + Math.floor(random() * 4000), (samples.length - at) / channels);
    clock.frames += frames;
    recorder.write(samples.subarray(at, at + frames * channels));
    at += frames * channels;
    if (random() < 0.1) await recorder.flush();
  }
}

describe(ArchiveRecorder.name, () => {
  it.each([
    { bitsPerSample: 24, channels: 2 },
    { bitsPerSample: 16, channels: 1 },
  ] as const)('records $bitsPerSample-bit $channels-channel audio across rotations as a bit-exact run, cut where the UTC clock passes each boundary', async ({ bitsPerSample, channels }) => {
    const dir = await tempDir();
    const format: PcmFormat = { sampleRate: RATE, channels, bitsPerSample };
    const signal = musicLike(5.5 * RATE, bitsPerSample, channels).samples;
    const firstSample = Date.parse('2026-11-23T21:59:58.750Z');
    const clock = { frames: 0 };
    const { log, lines } = memoryLogger();
    const recorder = recorderIn(dir, {
      format,
      log,
      rotateSeconds: 2,
      now: () => new Date(firstSample + (clock.frames * 1000) / RATE),
    });
    await feed(recorder, signal, channels, clock);
    await recorder.close();

    const names = (await readdir(join(dir, 'recordings'))).sort();
    expect(names).toEqual(['2026-11-23T21-59-58Z.flac', '2026-11-23T22-00-00Z.flac', '2026-11-23T22-00-02Z.flac', '2026-11-23T22-00-04Z.flac']);
    expect(await readdir(join(dir, 'staging'))).toEqual([]);
    const heads = await Promise.all(names.map(async (name) => {
      const file = await open(join(dir, 'recordings', name));
      try {
        return await readFlacHead(file);
      } finally {
        await file.close();
      }
    }));
    // 1.25 s to 22:00:00, then 2 s each, then the last 0.25 s.
    expect(heads.map((h) => h.streamInfo.totalSamples)).toEqual([60000, 96000, 96000, 12000]);
    expect(heads.map((h) => h.comments.get('DATE'))).toEqual(['2026-11-23T21:59:58.750Z', '2026-11-23T22:00:00.000Z', '2026-11-23T22:00:02.000Z', '2026-11-23T22:00:04.000Z']);
    for (const head of heads) {
      expect(head.comments.get('ORGANIZATION')).toBe('Radio Test FM');
      expect(head.comments.get('ENCODER')).toMatch(/^radio-server archive \(.*libFLAC/);
      expect(head.streamInfo).toMatchObject({ sampleRate: RATE, channels, bitsPerSample });
    }
    for (const name of names) expect(await flacTest(join(dir, 'recordings', name)), name).toBe('');
    const decoded = await Promise.all(names.map((name) => ffmpegDecodeInt(join(dir, 'recordings', name), bitsPerSample)));
    const joined = new Int32Array(decoded.reduce((n, d) => n + d.length, 0));
    decoded.reduce((at, d) => (joined.set(d, at), at + d.length), 0);
    expect(joined.length).toBe(signal.length);
    expect(sameSamples(joined, signal)).toBe(true);
    expect(lines.filter((l) => l.level >= LEVEL.warn)).toEqual([]);

    const report: string[] = [];
    expect(await runArchiveCheck(join(dir, 'recordings'), { write: (text: string) => report.push(text) })).toBe(0);
    expect(report.join('')).toMatch(/4 recordings .* 5\.500 s recorded: no gaps or overlaps/);
  });

  it('syncs the staging file while recording: a sync reports the frames on disk, which decode to the input so far', async () => {
    const dir = await tempDir();
    const signal = musicLike(2 * RATE).samples;
    const synced: { path: string; frames: number; bytesWritten: number }[] = [];
    const { log } = memoryLogger();
    const recorder = recorderIn(dir, {
      format: { sampleRate: RATE, channels: 2, bitsPerSample: 24 },
      log,
      syncIntervalMs: 20,
      onSynced: (progress) => synced.push(progress),
    });
    recorder.write(signal.subarray(0, RATE * 2));
    await recorder.flush();
    const progress = synced.at(-1)!;
    // All but libFLAC's partial last block (a block is written once its last frame is in).
    expect(progress.frames).toBeGreaterThan(RATE - ARCHIVE_BLOCKSIZE - 1);
    expect(progress.bytesWritten).toBe(recorder.bytesWritten);
    const copy = join(dir, 'copy.flac');
    await copyFile(progress.path, copy);
    const decoded = await ffmpegDecodeInt(copy, 24);
    expect(decoded.length).toBe(progress.frames * 2);
    expect(sameSamples(decoded, signal.subarray(0, decoded.length))).toBe(true);
    await recorder.close();
  });

  it('encodes a second of queued audio at a time, and a flush still covers every block written before it', async () => {
    const dir = await tempDir();
    const signal = musicLike(3 * RATE).samples;
    const synced: { frames: number }[] = [];
    const { log } = memoryLogger();
    // No sync timer within the test: only the queue's length and the flush start the encoder.
    const recorder = recorderIn(dir, { format: { sampleRate: RATE, channels: 2, bitsPerSample: 24 }, log, syncIntervalMs: 60_000, onSynced: (p) => synced.push(p) });
    const block = RATE / 10;
    const writeBlocks = (from: number, to: number) => {
      for (let b = from; b < to; b++) recorder.write(signal.subarray(b * block * 2, (b + 1) * block * 2));
    };
    writeBlocks(0, 10);
    await recorder.flush();
    expect(recorder.health().detail).toMatch(/ \(1 s\)$/);
    // 0.9 s more: queued, not encoded (the encoder would have taken them within these turns of the loop).
    writeBlocks(10, 19);
    for (let turn = 0; turn < 5; turn++) await new Promise(setImmediate);
    expect(recorder.health().detail).toMatch(/ \(1 s\)$/);
    writeBlocks(19, 25);
    await recorder.flush();
    // 2.5 s written, the flush asked for before the second queued was encoded: all on disk but libFLAC's partial block.
    expect(synced.at(-1)!.frames).toBeGreaterThan(25 * block - ARCHIVE_BLOCKSIZE - 1);
    await recorder.close();
  });

  it('drops audio it cannot write in time (one ERROR), and each recording still holds the input from the time its DATE says', async () => {
    const dir = await tempDir();
    const signal = musicLike(3 * RATE).samples;
    const firstSample = Date.parse('2026-11-23T22:00:00.000Z');
    let fed = 0;
    const { log, lines } = memoryLogger();
    const recorder = recorderIn(dir, {
      format: { sampleRate: RATE, channels: 2, bitsPerSample: 24 },
      log,
      maxBacklogSeconds: 0.5,
      retryIntervalMs: 300,
      now: () => new Date(firstSample + (fed * 1000) / RATE),
    });
    const write = (): void => recorder.write(signal.subarray(fed * 2, (fed += RATE / 10) * 2));
    // The event loop blocked while 2 s are captured: the writer never gets a turn, its backlog overflows.
    while (fed < 2 * RATE) write();
    // Then a capture it keeps up with, 100 ms at a time.
    while (fed < 3 * RATE) {
      write();
      await recorder.flush();
    }
    await recorder.close();

    expect(lines.filter((l) => l.level === LEVEL.error).map((l) => l.msg)).toEqual([expect.stringMatching(/writing fell 0\.5 s behind the capture/)]);
    const names = (await readdir(join(dir, 'recordings'))).sort();
    expect(names.length).toBeGreaterThan(0);
    let recorded = 0;
    for (const name of names) {
      const path = join(dir, 'recordings', name);
      const file = await open(path);
      const { comments } = await readFlacHead(file).finally(() => file.close());
      const offset = ((Date.parse(comments.get('DATE')!) - firstSample) * RATE) / 1000;
      const decoded = await ffmpegDecodeInt(path, 24);
      expect(sameSamples(decoded, signal.subarray(offset * 2, offset * 2 + decoded.length)), name).toBe(true);
      recorded = offset + decoded.length / 2;
    }
    expect(recorded).toBe(3 * RATE); // recording again to the end
    expect(lines.filter((l) => /recording again into/.test(l.msg))).toHaveLength(1);
  });
});
