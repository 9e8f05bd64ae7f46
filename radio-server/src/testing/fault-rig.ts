import { afterEach } from 'vitest';
import { S3Store } from '../publish/s3-store.js';
import { startFaultProxy, type FaultMode, type FaultProxy } from '../publish/testing/fault-proxy.js';
import { memoryLogger } from '../publish/testing/memory-log.js';
import { startS3TestServer, type S3TestServer } from '../publish/testing/s3-test-server.js';
import { readManifest } from './bucket-reader.js';
import { startDaemon, storageEnv, type Daemon } from './daemon.js';
import { freePort } from './free-port.js';

// The daemon against a fault-injecting proxy in front of the S3 test server (docs/operations.md,
// "Faults"), for the cli's fault tests. Figures measured there are printed as `figure:` lines and kept
// in the README and docs/operations.md.

export interface Rig {
  server: S3TestServer;
  proxy: FaultProxy;
  /** Reads the bucket directly, past the proxy. */
  store: S3Store;
}

export interface Running extends Daemon {
  port: number;
  healthz(): Promise<{ status: number; body: { status: string; failing?: string[]; parts: Record<string, { ok: boolean; detail: string }> } }>;
  /** The JSON log lines at ERROR. */
  errors(): { msg: string; time: number }[];
}

/** The rig and daemon makers of one test file; what they start is stopped after each test. */
export function useFaultRig(): { rig(mode?: FaultMode): Promise<Rig>; daemon(proxy: FaultProxy, args: string[], env?: Record<string, string>): Promise<Running> } {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    async rig(mode = 'pass') {
      const server = await startS3TestServer();
      cleanups.push(() => server.stop());
      const proxy = await startFaultProxy(server.target, mode);
      cleanups.push(() => proxy.stop());
      const store = new S3Store({ target: server.target, log: memoryLogger().log });
      cleanups.push(() => store.destroy());
      return { server, proxy, store };
    },
    async daemon(proxy, args, env = {}) {
      const port = await freePort();
      const d = startDaemon(['run', '--source', 'tone', ...args], { ...storageEnv(proxy.target), STATION_NAME: 'Test FM', METRICS_PORT: String(port), ...env });
      cleanups.push(() => d.process.kill('SIGKILL'));
      return {
        ...d,
        port,
        async healthz() {
          const response = await fetch(`http://127.0.0.1:${port}/healthz`);
          return { status: response.status, body: await response.json() };
        },
        errors: () => d.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string; time: number }).filter((l) => l.level === 50),
      };
    },
  };
}

export const healthzOnce = (d: Running) => d.healthz().catch(() => undefined);
export const newestSeq = async (store: S3Store) => (await readManifest(store))?.streams.hq.segments.at(-1)?.seq;
export const figure = (what: string, value: string) => console.log(`figure: ${what}: ${value}`);

/** Sends SIGTERM; resolves with the exit code (or 'still running' after `timeoutMs`) and how long it took. */
export async function stopped(d: Daemon, timeoutMs = 40_000): Promise<{ code: number | string; seconds: number }> {
  const signalled = Date.now();
  d.process.kill('SIGTERM');
  const code = await Promise.race([d.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), timeoutMs))]);
  return { code, seconds: (Date.now() - signalled) / 1000 };
}
