import { appendFile, copyFile, mkdir, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEVEL, memoryLogger } from '../publish/testing/memory-log.js';
import { ffmpegDecodeInt, flacTest } from '../testing/reference-decoders.js';
import { musicLike } from '../testing/signals.js';
import { ARCHIVE_BLOCKSIZE, ArchiveFile } from './archive-file.js';
import { readFlacHead } from './flac-metadata.js';
import { recoverStaging } from './recover-staging.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const RATE = 48000;
const FORMAT = { sampleRate: RATE, channels: 2, bitsPerSample: 24 } as const;
const NAME = '2026-11-23T22-00-00Z.flac';
const signal = musicLike(3 * RATE).samples;
const tempDir = useTempDirs('recover-staging-');

async function setup(): Promise<{ staging: string; recordings: string }> {
  const dir = await tempDir();
  await mkdir(join(dir, 'staging'));
  return { staging: join(dir, 'staging'), recordings: join(dir, 'recordings') };
}

/** A staging file as SIGKILL leaves it: whole frames so far, STREAMINFO without totals or MD5. */
async function crashedRecording(path: string): Promise<void> {
  const file = await ArchiveFile.create({ path, format: FORMAT, compressionLevel: 5, comments: ['DATE=2026-11-23T22:00:00.000Z'] });
  await file.append(signal);
  await file.abandon();
}

async function head(path: string) {
  const file = await open(path);
  try {
    return await readFlacHead(file);
  } finally {
    await file.close();
  }
}

/** The recovered file passes `flac -t` (CRCs and the rewritten MD5) and decodes to a prefix of the input. */
async function expectRecoveredPrefix(path: string): Promise<number> {
  expect(await flacTest(path)).toBe('');
  const decoded = await ffmpegDecodeInt(path, 24);
  const expected = signal.subarray(0, decoded.length);
  expect(Buffer.from(decoded.buffer).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))).toBe(true);
  expect((await head(path)).streamInfo.totalSamples).toBe(decoded.length / 2);
  return decoded.length / 2;
}

describe(recoverStaging.name, () => {
  it('cuts a torn last frame, rewrites STREAMINFO totals and MD5, moves the file to recordings and logs it', async () => {
    const { staging, recordings } = await setup();
    await crashedRecording(join(staging, NAME));
    const whole = await stat(join(staging, NAME));
    expect((await head(join(staging, NAME))).streamInfo.totalSamples).toBe(0);
    await truncate(join(staging, NAME), whole.size - 1000);
    const { log, lines } = memoryLogger();

    const [result] = await recoverStaging(staging, recordings, log);

    expect(result).toMatchObject({ name: NAME, outcome: 'moved', path: join(recordings, NAME) });
    expect(result!.repair!.cutBytes).toBeGreaterThan(0);
    expect(await readdir(staging)).toEqual([]);
    const frames = await expectRecoveredPrefix(join(recordings, NAME));
    // Every whole frame libFLAC had written is kept: at most the torn one and libFLAC's unencoded block are lost.
    expect(frames).toBeGreaterThanOrEqual(3 * RATE - 2 * ARCHIVE_BLOCKSIZE);
    expect(frames % ARCHIVE_BLOCKSIZE).toBe(0);
    expect(lines.filter((l) => l.level === LEVEL.warn).map((l) => l.msg)).toEqual([expect.stringMatching(new RegExp(`recovered ${NAME} from staging \\(\\d+\\.\\d{3} s, \\d+ bytes of a torn last frame cut`))]);
  });

  it('keeps every frame of a file that ends on a frame boundary, or inside the next frame header', async () => {
    const { staging, recordings } = await setup();
    await crashedRecording(join(staging, NAME));
    const { log } = memoryLogger();
    await copyFile(join(staging, NAME), join(staging, '2026-11-23T23-00-00Z.flac'));
    const audioOffset = (await head(join(staging, NAME))).audioOffset;
    const frameHeaderStart = (await readFile(join(staging, NAME))).subarray(audioOffset, audioOffset + 3);
    await appendFile(join(staging, '2026-11-23T23-00-00Z.flac'), frameHeaderStart);

    const results = await recoverStaging(staging, recordings, log);

    expect(results.map((r) => [r.outcome, r.repair?.cutBytes])).toEqual([['moved', 0], ['moved', 3]]);
    const kept = await Promise.all(results.map((r) => expectRecoveredPrefix(r.path!)));
    expect(kept[0]).toBe(kept[1]);
  });

  it('deletes staging files that hold no audio and sets aside one that is not FLAC', async () => {
    const { staging, recordings } = await setup();
    await writeFile(join(staging, '2026-11-23T20-00-00Z.flac'), '');
    const metadataOnly = await ArchiveFile.create({ path: join(staging, '2026-11-23T21-00-00Z.flac'), format: FORMAT, compressionLevel: 5, comments: [] });
    await metadataOnly.abandon();
    await writeFile(join(staging, '2026-11-23T22-00-00Z.flac'), 'RIFF....WAVEfmt not a FLAC file');
    const { log, lines } = memoryLogger();

    const results = await recoverStaging(staging, recordings, log);

    expect(results.map((r) => r.outcome)).toEqual(['empty', 'empty', 'damaged']);
    expect(await readdir(staging)).toEqual(['2026-11-23T22-00-00Z.flac.damaged']);
    expect(lines.filter((l) => l.level === LEVEL.error).map((l) => l.msg)).toEqual([expect.stringContaining('is not a FLAC recording (it does not start with fLaC)')]);
  });

  it('finishes a move cut short after the copy without a duplicate, and never overwrites a different recording', async () => {
    const { staging, recordings } = await setup();
    await mkdir(recordings);
    await crashedRecording(join(staging, NAME));
    const { log } = memoryLogger();
    await recoverStaging(staging, recordings, log);
    // The same recording again in staging: a crash after the copy into recordings, before the unlink.
    await copyFile(join(recordings, NAME), join(staging, NAME));
    // A different recording under a name already taken.
    await crashedRecording(join(staging, '2026-11-23T23-00-00Z.flac'));
    await writeFile(join(recordings, '2026-11-23T23-00-00Z.flac'), 'another file');

    const results = await recoverStaging(staging, recordings, log);

    expect(results.map((r) => r.path)).toEqual([join(recordings, NAME), join(recordings, '2026-11-23T23-00-00Z.1.flac')]);
    expect((await readdir(recordings)).sort()).toEqual([NAME, '2026-11-23T23-00-00Z.1.flac', '2026-11-23T23-00-00Z.flac']);
    expect(await readdir(staging)).toEqual([]);
  });
});
