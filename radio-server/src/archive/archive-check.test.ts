import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveFile } from './archive-file.js';
import { formatDuration, runArchiveCheck } from './archive-check.js';
import { recordingName } from './recording-name.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const RATE = 48000;
const tempDir = useTempDirs('archive-check-');

/** A finished recording of `seconds` of silence starting at `start` (ISO), named as the recorder names it. */
async function plant(dir: string, start: string, seconds: number, { dated = true } = {}): Promise<void> {
  const file = await ArchiveFile.create({
    path: join(dir, recordingName(new Date(start))),
    format: { sampleRate: RATE, channels: 2, bitsPerSample: 16 },
    compressionLevel: 0,
    comments: dated ? [`DATE=${start}`] : [],
  });
  await file.append(new Int32Array(Math.round(seconds * RATE) * 2));
  await file.finish();
}

async function check(dir: string): Promise<{ code: number; lines: string[] }> {
  let text = '';
  const code = await runArchiveCheck(dir, { write: (chunk: string) => (text += chunk) });
  return { code, lines: text.trimEnd().split('\n') };
}

describe(runArchiveCheck.name, () => {
  it('exits 0 on an unbroken sequence, including a first file that starts between seconds', async () => {
    const dir = await tempDir();
    await plant(dir, '2026-11-23T21:59:58.750Z', 1.25);
    await plant(dir, '2026-11-23T22:00:00.000Z', 2);
    await plant(dir, '2026-11-23T22:00:02.000Z', 0.5);
    await writeFile(join(dir, 'notes.txt'), 'not a recording');

    expect(await check(dir)).toEqual({
      code: 0,
      lines: [`3 recordings in ${dir} from 2026-11-23T21:59:58.750Z to 2026-11-23T22:00:02.500Z, 3.750 s recorded: no gaps or overlaps`],
    });
  });

  it('lists a planted gap and an overlap with their lengths and exits 1', async () => {
    const dir = await tempDir();
    await plant(dir, '2026-11-23T22:00:00.000Z', 1);
    await plant(dir, '2026-11-23T22:00:01.250Z', 1); // 0.25 s after the first ends
    await plant(dir, '2026-11-23T22:00:02.000Z', 1); // 0.25 s before the second ends
    await plant(dir, '2026-11-23T23:00:05.000Z', 2, { dated: false }); // a file known only by its name

    expect(await check(dir)).toEqual({
      code: 1,
      lines: [
        'gap of 0.250 s: 2026-11-23T22-00-00Z.flac ends at 2026-11-23T22:00:01.000Z, 2026-11-23T22-00-01Z.flac starts at 2026-11-23T22:00:01.250Z',
        'overlap of 0.250 s: 2026-11-23T22-00-01Z.flac ends at 2026-11-23T22:00:02.250Z, 2026-11-23T22-00-02Z.flac starts at 2026-11-23T22:00:02.000Z',
        'gap of 1 h 0 min 2.000 s: 2026-11-23T22-00-02Z.flac ends at 2026-11-23T22:00:03.000Z, 2026-11-23T23-00-05Z.flac starts at 2026-11-23T23:00:05.000Z',
        `4 recordings in ${dir} from 2026-11-23T22:00:00.000Z to 2026-11-23T23:00:07.000Z, 5.000 s recorded: 2 gaps (1 h 0 min 2.250 s missing), 1 overlap (0.250 s doubled)`,
      ],
    });
  });

  it('reports a recording it cannot read and exits 1', async () => {
    const dir = await tempDir();
    await plant(dir, '2026-11-23T22:00:00.000Z', 1);
    await writeFile(join(dir, '2026-11-23T22-00-01Z.flac'), 'fLaC');

    const { code, lines } = await check(dir);

    expect(code).toBe(1);
    expect(lines[0]).toBe('unreadable: 2026-11-23T22-00-01Z.flac: its metadata ends at byte 4');
    expect(lines[1]).toMatch(/1 recording in .*: 1 unreadable file$/);
  });

  it('exits 2 with one line when the directory is missing', async () => {
    const dir = join(await tempDir(), 'recordings');
    expect(await check(dir)).toEqual({ code: 2, lines: [`archive check: ${dir} is not a directory (set RECORDINGS_DIR or pass the recordings directory)`] });
  });

  it('formats lengths for people', () => {
    expect([0.25, 61.5, 3600, 90061].map(formatDuration)).toEqual(['0.250 s', '1 min 1.500 s', '1 h 0 min 0.000 s', '25 h 1 min 1.000 s']);
  });
});
