import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../publish/s3-store.js';
import { memoryLogger } from '../publish/testing/memory-log.js';
import { startS3TestServer, type S3TestServer } from '../publish/testing/s3-test-server.js';
import { decodeListedHq, readManifest } from '../testing/bucket-reader.js';
import { startDaemon, storageEnv, waitFor } from '../testing/daemon.js';
import { ffmpegDecodeInt, flacTest } from '../testing/reference-decoders.js';
import { musicLike } from '../testing/signals.js';
import { writeWav } from '../testing/wav.js';

const RATE = 48000;
let work: string;
let server: S3TestServer;
let store: S3Store;
let programme: string;
const signal = musicLike(20 * RATE);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'radio-archive-run-'));
  programme = join(work, 'programme.wav');
  await writeWav(programme, signal);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function freshBucket(): Promise<void> {
  server = await startS3TestServer();
  store = new S3Store({ target: server.target, log: memoryLogger().log });
}

async function stopBucket(): Promise<void> {
  store.destroy();
  await server.stop();
}

/** The recordings in `dir`, decoded by ffmpeg and concatenated in name order. */
async function recorded(dir: string): Promise<{ files: string[]; samples: Int32Array }> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.flac')).sort();
  const parts = await Promise.all(files.map((f) => ffmpegDecodeInt(join(dir, f), 24)));
  const samples = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) (samples.set(p, offset), (offset += p.length));
  return { files, samples };
}

function isPrefixOfSignal(samples: Int32Array): boolean {
  return Buffer.from(samples.buffer).equals(Buffer.from(signal.samples.buffer, 0, samples.byteLength));
}

describe('radio-server run, the archive', () => {
  it('on SIGTERM leaves a recording that is a bit-exact run of the input, and a live: false manifest', async () => {
    await freshBucket();
    try {
      const recordings = join(work, 'sigterm');
      const d = startDaemon(['run', '--source', `file:${programme}`, '--speed', '4', '--segment-seconds', '1'], { ...storageEnv(server.target), RECORDINGS_DIR: recordings });
      await waitFor('three published segments', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 3);
      d.process.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      expect((await readManifest(store))!.live).toBe(false);
      const { files, samples } = await recorded(recordings);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.flac$/);
      expect(await flacTest(join(recordings, files[0]!))).toBe('');
      expect(samples.length).toBeGreaterThanOrEqual(3 * RATE * 2);
      expect(isPrefixOfSignal(samples)).toBe(true);
      expect(await readdir(join(recordings, '.staging'))).toEqual([]);
    } finally {
      await stopBucket();
    }
  });

  it('after SIGKILL, the next start repairs the recording, which holds everything that was published', async () => {
    await freshBucket();
    try {
      const recordings = join(work, 'sigkill');
      const env = { ...storageEnv(server.target), RECORDINGS_DIR: recordings };
      const killed = startDaemon(['run', '--source', `file:${programme}`, '--speed', '4', '--segment-seconds', '1', '--window', '100'], env);
      await waitFor('four published segments', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 4);
      killed.process.kill('SIGKILL');
      await killed.exited;
      const published = await decodeListedHq(store, (await readManifest(store))!, work);
      expect(await readdir(recordings)).toEqual(['.staging']); // nothing finished yet: the recording is in staging

      await writeWav(join(work, 'short.wav'), musicLike(RATE / 2));
      const restarted = startDaemon(['run', '--source', `file:${join(work, 'short.wav')}`, '--speed', '4', '--segment-seconds', '1'], env);
      expect(await restarted.exited).toBe(0);
      expect(restarted.output()).toMatch(/staging/i);
      const files = (await readdir(recordings)).filter((f) => f.endsWith('.flac')).sort();
      expect(files).toHaveLength(2);
      expect(await flacTest(join(recordings, files[0]!))).toBe('');
      const repaired = await ffmpegDecodeInt(join(recordings, files[0]!), 24);
      expect(isPrefixOfSignal(repaired)).toBe(true);
      expect(repaired.length).toBeGreaterThanOrEqual(published.length);
    } finally {
      await stopBucket();
    }
  });
});
