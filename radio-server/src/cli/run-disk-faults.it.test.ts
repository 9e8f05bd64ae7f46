import { execFile } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { S3Store } from '../publish/s3-store.js';
import { memoryLogger } from '../publish/testing/memory-log.js';
import { startS3TestServer } from '../publish/testing/s3-test-server.js';
import { readManifest } from '../testing/bucket-reader.js';
import { startDaemon, storageEnv, waitFor, type Daemon } from '../testing/daemon.js';
import { freePort } from '../testing/free-port.js';
import { useTempDirs } from '../testing/temp-dirs.js';

// A hung and a full recordings disk under the running daemon: they cost the recording, never the live
// stream. A hung disk is an ext4 image frozen with fsfreeze (writes block in the kernel until thawed); a
// full one a 1 MiB tmpfs filled up, as in archive/archive-disk-full.test.ts.

const run = promisify(execFile);
const tempDir = useTempDirs('radio-disk-faults-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function station(staging: string): Promise<{ d: Daemon; store: S3Store; healthz: () => Promise<{ status: number; parts: Record<string, { ok: boolean; detail: string }> } | undefined> }> {
  const server = await startS3TestServer();
  cleanups.push(() => server.stop());
  const store = new S3Store({ target: server.target, log: memoryLogger().log });
  cleanups.push(() => store.destroy());
  const port = await freePort();
  const dir = await tempDir();
  const d = startDaemon(['run', '--source', 'tone', '--segment-seconds', '1'], { ...storageEnv(server.target), METRICS_PORT: String(port), RECORDINGS_DIR: join(dir, 'recordings'), STAGING_DIR: staging });
  cleanups.push(() => d.process.kill('SIGKILL'));
  const healthz = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    return response && { status: response.status, parts: ((await response.json()) as { parts: Record<string, { ok: boolean; detail: string }> }).parts };
  };
  await waitFor('two published segments', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 2, 30_000);
  return { d, store, healthz };
}

const newestSeq = async (store: S3Store) => (await readManifest(store))?.streams.hq.segments.at(-1)?.seq ?? 0;

describe('radio-server run, the recordings disk fails', () => {
  it('a hung disk: /healthz names it, publishing goes on, and the archive records again once it thaws', async () => {
    const dir = await tempDir();
    const image = join(dir, 'staging.img');
    const staging = join(dir, 'staging');
    await mkdir(staging);
    await run('truncate', ['-s', '64M', image]);
    await run('mkfs.ext4', ['-q', image]);
    await run('mount', ['-o', 'loop', image, staging]);
    cleanups.push(() => run('umount', [staging]));
    const { d, store, healthz } = await station(staging);
    await run('fsfreeze', ['-f', staging]);
    let frozen = true;
    // Thaw before anything else is cleaned up: a frozen filesystem holds its writers (and umount).
    cleanups.push(() => frozen && run('fsfreeze', ['-u', staging]));
    const frozenAt = await newestSeq(store);
    const hung = await waitFor('/healthz to name the hung archive', async () => {
      const h = await healthz();
      return h?.status === 503 && !h.parts.archive!.ok ? h : undefined;
    }, 20_000);
    expect(hung.parts.archive!.detail).toMatch(/has not finished a write for .* \(hung\?\)/);
    expect(hung.parts.uploads!.ok).toBe(true);
    // The live stream does not wait for it.
    await waitFor('five more segments published while the disk hangs', async () => (await newestSeq(store)) >= frozenAt + 5, 20_000);
    await run('fsfreeze', ['-u', staging]);
    frozen = false;
    await waitFor('the archive recording again', async () => (await healthz())?.parts.archive?.ok, 30_000);
    d.process.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect((await readManifest(store))!.live).toBe(false);
  }, 120_000);

  it('a full disk: /healthz says so, publishing goes on, and recording resumes once there is room', async () => {
    const dir = await tempDir();
    const staging = join(dir, 'staging');
    await mkdir(staging);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', staging]);
    cleanups.push(() => run('umount', [staging]));
    const { d, store, healthz } = await station(staging);
    const filler = join(staging, 'filler');
    const file = await open(filler, 'a');
    try {
      for (;;) await file.write(Buffer.alloc(4096, 0x55));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      await file.close();
    }
    const full = await waitFor('/healthz to name the full disk', async () => {
      const h = await healthz();
      return h?.status === 503 && !h.parts.archive!.ok ? h : undefined;
    }, 20_000);
    expect(full.parts.archive!.detail).toMatch(/the recordings disk is full/);
    const fullAt = await newestSeq(store);
    await waitFor('three more segments published on a full disk', async () => (await newestSeq(store)) >= fullAt + 3, 20_000);
    await rm(filler);
    // The recorder tries a new file 10 s after a failure.
    await waitFor('the archive recording again', async () => (await healthz())?.parts.archive?.ok, 30_000);
    d.process.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  }, 120_000);
});
