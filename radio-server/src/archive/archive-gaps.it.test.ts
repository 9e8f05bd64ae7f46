import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '../testing/temp-dirs.js';

const run = promisify(execFile);
const SCRIPT = new URL('../../../scripts/archive-gaps', import.meta.url).pathname;
const tempDir = useTempDirs('archive-gaps-');

/** A recording made by the reference `flac` tool: `seconds` of 48 kHz stereo silence, DATE = start. */
async function plant(dir: string, start: string, seconds: number): Promise<void> {
  const name = `${start.slice(0, 19).replaceAll(':', '-')}Z.flac`;
  const flac = spawn('flac', ['--silent', '--force-raw-format', '--endian=little', '--sign=signed', '--channels=2', '--bps=16', '--sample-rate=48000', `--tag=DATE=${start}`, '-o', join(dir, name), '-']);
  flac.stdin.end(Buffer.alloc(seconds * 48000 * 4));
  await new Promise((resolve, reject) => flac.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`flac exited ${code}`)))));
}

/** Runs `scripts/archive-gaps` as cron would; returns its exit code and output. */
async function archiveGaps(args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number; output: string }> {
  return await run(SCRIPT, args, { env: { PATH: process.env.PATH ?? '', ...env }, cwd }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
  );
}

describe('scripts/archive-gaps', () => {
  it('checks RECORDINGS_DIR (or its argument) with the built CLI and exits 1 on a gap, 0 on a clean run, 2 without a directory', async () => {
    const gappy = await tempDir();
    const clean = await tempDir();
    await plant(gappy, '2026-11-23T22:00:00.000Z', 1);
    await plant(gappy, '2026-11-23T22:00:03.000Z', 1);
    await plant(clean, '2026-11-23T22:00:00.000Z', 1);
    await plant(clean, '2026-11-23T22:00:01.000Z', 1);

    const fromEnv = await archiveGaps([], { RECORDINGS_DIR: gappy }, clean);
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.output).toContain('gap of 2.000 s: 2026-11-23T22-00-00Z.flac ends at 2026-11-23T22:00:01.000Z, 2026-11-23T22-00-03Z.flac starts at 2026-11-23T22:00:03.000Z');
    expect(await archiveGaps([clean], { RECORDINGS_DIR: gappy }, clean)).toEqual({ code: 0, output: expect.stringMatching(/^2 recordings in .*: no gaps or overlaps\n$/) });
    // No argument, no RECORDINGS_DIR: ./recordings, which the working directory does not have.
    expect(await archiveGaps([], {}, clean)).toEqual({ code: 2, output: 'archive check: ./recordings is not a directory (set RECORDINGS_DIR or pass the recordings directory)\n' });
  });
});
