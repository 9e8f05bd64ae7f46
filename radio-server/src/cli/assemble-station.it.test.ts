import { createServer, type AddressInfo, type Server } from 'node:net';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../publish/testing/memory-log.js';
import { waitFor } from '../testing/daemon.js';
import { useTempDirs } from '../testing/temp-dirs.js';
import { writeWav } from '../testing/wav.js';
import { assembleStation } from './assemble-station.js';
import type { DaemonConfig } from './config.js';
import type { RunOptions } from './run-command.js';

// What a failed start leaves behind: nothing. The daemon's process would exit anyway (main.ts ends it),
// so this asks Node itself what is still open after assembleStation gave up: timers (the clock probe,
// the status line), sockets (the store's connections), servers, the source.

const tempDir = useTempDirs('radio-assemble-');
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

const OPTIONS: Omit<RunOptions, 'source'> = { device: 'UMC404HD', inputs: [1, 2], speed: 1, loop: false, format: 's24le',
  segmentSeconds: 1, window: 3, keepExtra: 2, flacLevel: 5, opusBitrate: 128000, deadAirDbfs: -50, deadAirSeconds: 30, stallSeconds: 5,
};

/** What this process has open, by kind: Node's handles and requests, and the file descriptors (where they point). */
async function openResources(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const count = (kind: string) => (counts[kind] = (counts[kind] ?? 0) + 1);
  for (const kind of process.getActiveResourcesInfo()) count(kind);
  for (const fd of await readdir('/proc/self/fd')) count(`fd -> ${await readlink(`/proc/self/fd/${fd}`).catch(() => 'closed meanwhile')}`);
  return counts;
}

describe('assembleStation', () => {
  it('on a failed start (METRICS_PORT taken, after the source, the store and the clock probe were opened) says why and releases all of them', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    servers.push(blocker);
    const port = (blocker.address() as AddressInfo).port;
    const dir = await tempDir();
    const programme = join(dir, 'programme.wav');
    await writeWav(programme, { samples: new Int32Array(48000 * 2), channels: 2, bits: 24 });
    const config: DaemonConfig = {
      // Nothing listens there: a store is opened, never reached (assembling touches no network).
      storage: { endpoint: 'http://127.0.0.1:9', bucket: 'radio', prefix: '', credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' } },
      station: 'Test FM', publicUrl: undefined, metricsPort: port,
      recordingsDir: join(dir, 'recordings'), stagingDir: join(dir, 'staging'),
    };
    const before = await openResources();
    const shutdown = new AbortController();
    await expect(assembleStation(config, { ...OPTIONS, source: `file:${programme}` }, memoryLogger().log, undefined, shutdown.signal)).rejects.toThrow(
      `METRICS_PORT ${port} on 127.0.0.1 is already in use: stop the program using it or set METRICS_PORT to a free port`,
    );
    // Closing takes a turn of the event loop or two; then nothing is open that was not before.
    const opened = async () => Object.entries(await openResources()).filter(([kind, n]) => n > (before[kind] ?? 0)).map(([kind, n]) => `${kind} x${n - (before[kind] ?? 0)}`);
    let left: string[] = [];
    await waitFor('everything opened to be released', async () => (left = await opened()).length === 0, 5000).catch(() => undefined);
    expect(left).toEqual([]);
    // No recording was started for a station that never ran.
    expect(await readdir(config.stagingDir).catch(() => [])).toEqual([]);
  });
});
