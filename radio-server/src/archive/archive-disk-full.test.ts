import { execFile } from 'node:child_process';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { LEVEL, memoryLogger } from '../publish/testing/memory-log.js';
import { waitFor } from '../testing/daemon.js';
import { ffmpegDecodeInt, flacTest } from '../testing/reference-decoders.js';
import { noise, sameSamples } from '../testing/signals.js';
import { runArchiveCheck } from './archive-check.js';
import { ArchiveRecorder } from './archive-recorder.js';
import { recordingName } from './recording-name.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const run = promisify(execFile);
const RATE = 48000;
const BLOCK = RATE / 10;
const mounts: string[] = [];
const recorders: ArchiveRecorder[] = [];
const tempDir = useTempDirs('archive-disk-full-');

afterEach(async () => {
  // A recorder left open by a failed assertion would keep the tmpfs busy.
  for (const recorder of recorders.splice(0)) await recorder.close();
  for (const mount of mounts.splice(0)) await run('umount', [mount]);
});

/** Writes `path` until the filesystem is full (ENOSPC), as another program filling the disk would. */
async function fillDisk(path: string): Promise<void> {
  const file = await open(path, 'a');
  const chunk = Buffer.alloc(4096, 0x55);
  try {
    for (;;) await file.write(chunk);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await file.close();
  }
}


describe(`${ArchiveRecorder.name} on a full disk`, () => {
  it('logs one ERROR, keeps the caller going, salvages what it wrote, and records again once there is room', async () => {
    const dir = await tempDir();
    // Staging on a 1 MiB tmpfs, recordings on the disk: also a move across filesystems.
    const staging = join(dir, 'staging');
    const recordings = join(dir, 'recordings');
    await mkdir(staging);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', staging]);
    mounts.push(staging);
    const signal = noise(5 * RATE).samples; // noise barely compresses: about 270 kB/s of FLAC
    const firstSample = Date.parse('2026-11-23T22:00:00.000Z');
    let fed = 0;
    const { log, lines } = memoryLogger();
    const recorder = new ArchiveRecorder({
      format: { sampleRate: RATE, channels: 2, bitsPerSample: 24 },
      stagingDir: staging,
      recordingsDir: recordings,
      station: 'Radio Test FM',
      log,
      retryIntervalMs: 500,
      now: () => new Date(firstSample + (fed * 1000) / RATE),
    });
    recorders.push(recorder);
    const feed = async (seconds: number): Promise<void> => {
      for (let end = fed + seconds * RATE; fed < end; ) {
        const block = signal.subarray(fed * 2, (fed + BLOCK) * 2);
        fed += BLOCK;
        recorder.write(block); // never throws, whatever the disk does
        await recorder.flush();
      }
    };
    const errors = () => lines.filter((l) => l.level === LEVEL.error);

    await feed(1);
    await fillDisk(join(staging, 'filler-1'));
    await feed(0.5);
    expect(errors().map((l) => l.msg)).toEqual([expect.stringMatching(/^archive: cannot write .*2026-11-23T22-00-00Z\.flac: ENOSPC.*the live stream goes on/)]);
    // The partial recording is repaired and moved out of staging, which frees its room: fill that too, once
    // the move is over (across filesystems the copy is in recordings before the staging file is unlinked).
    await waitFor('the salvaged recording', async () => lines.some((l) => /^archive: recovered 2026-11-23T22-00-00Z\.flac/.test(l.msg)));
    expect(await readdir(staging)).toEqual(['filler-1']);
    await fillDisk(join(staging, 'filler-2'));
    await feed(1.5); // three retries, all failing: no new ERROR
    expect(errors()).toHaveLength(1);
    expect(await readdir(recordings)).toEqual(['2026-11-23T22-00-00Z.flac']);

    await rm(join(staging, 'filler-1'));
    await rm(join(staging, 'filler-2'));
    await feed(2);
    await recorder.close();

    expect(errors()).toHaveLength(1);
    expect(lines.filter((l) => /recording again into/.test(l.msg))).toHaveLength(1);
    const names = (await readdir(recordings)).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toBe('2026-11-23T22-00-00Z.flac');
    const [before, after] = await Promise.all(names.map(async (name) => {
      expect(await flacTest(join(recordings, name))).toBe('');
      return ffmpegDecodeInt(join(recordings, name), 24);
    }));
    // The salvaged file is the start of the input, the new one its end, from the frame its name and DATE say.
    expect(before!.length).toBeGreaterThan(RATE * 2 * 0.8);
    expect(sameSamples(before!, signal.subarray(0, before!.length))).toBe(true);
    expect(sameSamples(after!, signal.subarray(signal.length - after!.length))).toBe(true);
    const resumedAt = new Date(firstSample + ((signal.length - after!.length) / 2 / RATE) * 1000);
    expect(names[1]).toBe(recordingName(resumedAt));
    expect(resumedAt.getTime()).toBeGreaterThanOrEqual(firstSample + 3000); // not before the room was made
    const beforeEnd = new Date(Math.round(firstSample + (before!.length / 2 / RATE) * 1000)).toISOString();
    const gapSeconds = (signal.length - after!.length - before!.length) / 2 / RATE;
    expect(lines.find((l) => /recording again/.test(l.msg))!.msg).toContain(`; ${gapSeconds.toFixed(3)} s of audio from ${beforeEnd} are not in the archive`);
    const report: string[] = [];
    expect(await runArchiveCheck(recordings, { write: (text: string) => report.push(text) })).toBe(1);
    expect(report[0]).toBe(`gap of ${gapSeconds.toFixed(3)} s: ${names[0]} ends at ${beforeEnd}, ${names[1]} starts at ${resumedAt.toISOString()}\n`);
    expect(await readdir(staging)).toEqual([]);
  });
});
