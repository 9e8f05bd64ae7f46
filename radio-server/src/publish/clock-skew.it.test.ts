import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseManifestText, prefixedKey } from '@radio/protocol';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from './s3-store.js';
import { LEVEL, memoryLogger, type LogLine } from './testing/memory-log.js';
import { startS3TestServer, type S3TestServer } from './testing/s3-test-server.js';

/*
 * A station whose host clock is 20 minutes off, run for real: a child process under libfaketime (Debian's
 * `faketime`) publishes segments, HQ and LQ in parallel, through S3Store + ClockOffset + Publisher to the
 * s3rver of this process, which refuses requests more than 15 minutes off its (true) clock. Retries are
 * off, so every request has to be signed right the first time.
 */
const CHILD = `
import { createHash } from 'node:crypto';
import pino from 'pino';
import { ClockOffset } from './clock-offset.ts';
import { Publisher } from './publisher.ts';
import { STORAGE_REQUEST_POLICY } from './request-policy.ts';
import { S3Store } from './s3-store.ts';

const [endpoint, bucket, accessKeyId, prefix, mode] = process.argv.slice(2);
const target = { endpoint, bucket, prefix, credentials: { accessKeyId, secretAccessKey: process.env.TEST_SECRET_KEY } };
const log = pino({ base: undefined }, pino.destination({ dest: 2, sync: true }));
const store = new S3Store({ target, log, policy: { ...STORAGE_REQUEST_POLICY, maxRetries: 0 } });
const clock = new ClockOffset({ target, clock: store, log });
const measured = mode === 'corrected' ? await clock.start() : undefined;
const station = { station: 'Skewed Radio', segmentSeconds: 2, format: { sampleRate: 48000, channels: 2, bitsPerSample: 24 }, opusBitrate: 128000 };
const publisher = new Publisher({ store, station, window: 3, keepExtra: 2, log });
const results = [];
const uploaded = {};
for (let seq = 1; seq <= 4; seq++) {
  const encoded = ['hq', 'lq'].map((stream) => ({ stream, seq, samples: 96000, bytes: Buffer.alloc(50000, stream + ' ' + seq + ';'), init: Buffer.from(stream + ' init') }));
  try {
    const published = await publisher.publish({ seq, run: 1, samples: 96000, startedAt: new Date(), discontinuity: false }, encoded);
    for (const e of encoded) uploaded[e.stream + '/' + seq] = createHash('sha256').update(e.bytes).digest('hex');
    results.push({ seq, ok: true, discontinuity: published.discontinuity });
  } catch (error) {
    results.push({ seq, ok: false, code: error.code, kind: error.kind });
  }
}
clock.stop();
store.destroy();
process.stdout.write(JSON.stringify({ hostTime: new Date().toISOString(), measured, results, uploaded }));
`;

const run = promisify(execFile);
let server: S3TestServer;
let buildDir: string;
let childScript: string;

beforeAll(async () => {
  server = await startS3TestServer();
  buildDir = await mkdtemp(join(tmpdir(), 'clock-skew-child-'));
  childScript = join(buildDir, 'child.mjs');
  await build({
    stdin: { contents: CHILD, loader: 'ts', resolveDir: dirname(fileURLToPath(import.meta.url)), sourcefile: 'skewed-child.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: childScript,
    // Bundled CommonJS dependencies still call require() for Node's built-ins.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
});

afterAll(async () => {
  await server?.stop();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

interface ChildReport {
  hostTime: string;
  measured?: { offsetMs: number; uncertaintyMs: number };
  results: { seq: number; ok: boolean; code?: string; kind?: string; discontinuity?: boolean }[];
  uploaded: Record<string, string>;
}

async function runSkewed(skew: string, prefix: string, mode: 'corrected' | 'uncorrected') {
  const { target } = server;
  const { stdout, stderr } = await run('faketime', ['-f', skew, process.execPath, childScript, target.endpoint, target.bucket, target.credentials.accessKeyId, prefix, mode], {
    env: { PATH: process.env.PATH, FAKETIME_NO_CACHE: '1', DONT_FAKE_MONOTONIC: '1', TEST_SECRET_KEY: target.credentials.secretAccessKey },
  });
  const logs = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  return { report: JSON.parse(stdout) as ChildReport, logs, output: stdout + stderr };
}

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('a host clock 20 minutes off', () => {
  for (const [skew, offsetMs] of [['-20m', +20 * 60_000], ['+20m', -20 * 60_000]] as const) {
    it(`(${skew}) uploads every segment, HQ and LQ in parallel, each request accepted the first time`, async () => {
      const prefix = `skew${skew}`;
      const { report, logs, output } = await runSkewed(skew, prefix, 'corrected');
      // The child really ran with its clock off.
      expect(Math.abs(Date.parse(report.hostTime) - Date.now() + offsetMs)).toBeLessThan(60_000);
      expect(Math.abs(report.measured!.offsetMs - offsetMs)).toBeLessThanOrEqual(report.measured!.uncertaintyMs + 100); // + a late refresh of Node's cached Date header
      expect(report.results).toEqual([1, 2, 3, 4].map((seq) => ({ seq, ok: true, discontinuity: seq === 1 })));
      const ntp = logs.filter((l) => l.level === LEVEL.error);
      expect(ntp.map((l) => l.msg)).toEqual([expect.stringContaining('NTP is broken on this host; check it with `timedatectl timesync-status` or `chronyc tracking`')]);
      expect(output).not.toContain(server.target.credentials.secretAccessKey);

      // Every object is in the bucket, bit for bit, and the manifest lists the last three.
      const store = new S3Store({ target: { ...server.target, prefix }, log: memoryLogger().log });
      try {
        for (const [name, sha] of Object.entries(report.uploaded)) {
          const [stream, seq] = name.split('/');
          const key = `${stream}/${seq!.padStart(10, '0')}.m4s`;
          expect(digest((await store.get(key))!), prefixedKey(prefix, key)).toBe(sha);
        }
        expect(Object.keys(report.uploaded)).toHaveLength(8);
        const manifest = parseManifestText(Buffer.from((await store.get('manifest.json'))!).toString());
        expect(manifest.ok && manifest.manifest.streams.lq.segments.map((s) => s.seq)).toEqual([2, 3, 4]);
      } finally {
        store.destroy();
      }
    });
  }

  it('(-20m) without the measured offset, the run\'s first parallel PUTs (its inits and live.m3u8) are refused as RequestTimeTooSkewed', async () => {
    const { report, output } = await runSkewed('-20m', 'skew-uncorrected', 'uncorrected');
    expect(report.results[0]).toEqual({ seq: 1, ok: false, code: 'RequestTimeTooSkewed', kind: 'clock-skew' });
    const refused = server.events.filter((e) => e.phase === 'answered' && e.status === 403 && e.key.startsWith('skew-uncorrected/'));
    expect(refused.map((e) => e.key).sort()).toEqual(['skew-uncorrected/hq/init-0000000001.mp4', 'skew-uncorrected/live.m3u8', 'skew-uncorrected/lq/init-0000000001.mp4']);
    expect(output).not.toContain(server.target.credentials.secretAccessKey);
  });
});
