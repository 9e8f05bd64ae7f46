import { spawn } from 'node:child_process';
import { open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEVEL, memoryLogger } from '../publish/testing/memory-log.js';
import { waitFor } from '../testing/daemon.js';
import { ffmpegDecodeInt, flacTest } from '../testing/reference-decoders.js';
import { musicLike } from '../testing/signals.js';
import { readFlacHead } from './flac-metadata.js';
import { recoverStaging } from './recover-staging.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const RATE = 48000;
const DIST = new URL('../../dist/', import.meta.url);
const tempDir = useTempDirs('archive-sigkill-');

/** The daemon's recorder in its own process (the built module), fed 100 ms blocks at 4x real time; prints each sync. */
const RECORDER_SCRIPT = `
import { readFileSync } from 'node:fs';
import { ArchiveRecorder } from '${new URL('archive/archive-recorder.js', DIST).href}';
import { createLogger } from '${new URL('ops/logger.js', DIST).href}';
const [input, stagingDir, recordingsDir] = process.argv.slice(2);
const bytes = readFileSync(input);
const samples = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
const recorder = new ArchiveRecorder({
  format: { sampleRate: ${RATE}, channels: 2, bitsPerSample: 24 },
  stagingDir, recordingsDir, station: 'Radio Test FM', log: createLogger({ pretty: false }),
  syncIntervalMs: 200,
  onSynced: (progress) => process.stdout.write(JSON.stringify(progress) + '\\n'),
});
let at = 0;
setInterval(() => {
  if (at < samples.length) recorder.write(samples.subarray(at, (at += ${RATE / 10} * 2)));
}, 25);
`;

describe('ArchiveRecorder killed with SIGKILL', () => {
  it('leaves a staging file that recovery turns into a valid recording holding everything synced', async () => {
    const dir = await tempDir();
    const staging = join(dir, 'staging');
    const recordings = join(dir, 'recordings');
    const signal = musicLike(30 * RATE).samples;
    await writeFile(join(dir, 'input.raw'), Buffer.from(signal.buffer));
    await writeFile(join(dir, 'recorder.mjs'), RECORDER_SCRIPT);
    const child = spawn(process.execPath, [join(dir, 'recorder.mjs'), join(dir, 'input.raw'), staging, recordings], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const syncs = (): { path: string; frames: number }[] => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { path: string; frames: number });

    // Kill it mid-recording, a few syncs in (about 2 s of audio recorded).
    await waitFor('a few syncs of the staging file', () => syncs().filter((s) => s.frames > 0).length >= 3 || (child.exitCode !== null && `exited: ${stderr}`), 30_000);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const synced = Math.max(...syncs().map((s) => s.frames));
    const [name] = await readdir(staging);
    const left = await open(join(staging, name!));
    expect((await readFlacHead(left)).streamInfo.totalSamples).toBe(0); // as the crash left it: no totals, no MD5
    await left.close();

    const { log, lines } = memoryLogger();
    const [recovered] = await recoverStaging(staging, recordings, log);

    expect(recovered).toMatchObject({ name, outcome: 'moved', path: join(recordings, name!) });
    expect(await readdir(staging)).toEqual([]);
    expect(await flacTest(recovered!.path!)).toBe('');
    const decoded = await ffmpegDecodeInt(recovered!.path!, 24);
    expect(decoded.length / 2).toBeGreaterThanOrEqual(synced);
    expect(decoded.length).toBeLessThan(signal.length);
    expect(Buffer.from(decoded.buffer).equals(Buffer.from(signal.buffer, 0, decoded.byteLength))).toBe(true);
    expect(lines.filter((l) => l.level === LEVEL.warn).map((l) => l.msg)).toEqual([expect.stringContaining(`recovered ${name} from staging`)]);
  });
});
