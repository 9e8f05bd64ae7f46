import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';
import type { S3Target } from '../s3-store.js';
import { verifySigV4 } from './sigv4-verifier.js';

/** A request the server saw, in the order seen: received (whole body read) or answered (response sent). */
export interface ServerEvent {
  phase: 'received' | 'answered';
  method: string;
  /** Object key within the bucket (no bucket, no query); '' for a request on the bucket itself or on an extra bucket. */
  key: string;
  /** Set when answered. */
  status?: number;
  /** The body of a PUT, when received. */
  body?: Buffer;
}

export interface S3TestServerOptions {
  /** Bucket configs (e.g. a CORS XML) for the bucket. */
  bucketConfigs?: string[];
  /** Further buckets, without configs, on the same origin with the same credentials (e.g. one without CORS). */
  extraBuckets?: string[];
}

/** A real s3rver on loopback behind a SigV4 check, with its own credentials and a log of every request. */
export interface S3TestServer {
  /** Where a store or the daemon points: endpoint, bucket, empty prefix, valid credentials. */
  target: S3Target;
  /** Every request, in the order the server saw it. */
  events: ServerEvent[];
  /** An outage: stops accepting connections (clients get ECONNREFUSED) and drops open ones; data is kept. */
  goDown(): Promise<void>;
  /** Ends the outage: listens again on the same port. */
  comeBack(): Promise<void>;
  stop(): Promise<void>;
}

let accountSerial = 0;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
  });
}

function keyOf(url: string, bucket: string): string {
  const path = url.split('?')[0] ?? '';
  const prefix = `/${bucket}/`;
  return path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)) : '';
}

/**
 * Starts s3rver (temp directory, ephemeral port on 127.0.0.1) behind a front on another ephemeral port that
 * verifies each SigV4 signature with a fresh random secret before passing the request on. s3rver itself
 * checks the access key and refuses requests more than 15 minutes off its clock (RequestTimeTooSkewed).
 */
export async function startS3TestServer(options: S3TestServerOptions = {}): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 's3-test-server-'));
  const bucket = 'radio-test';
  const credentials = { accessKeyId: `radio-test-${++accountSerial}-${process.pid}`, secretAccessKey: randomBytes(24).toString('base64url') };
  const account = new AWSAccount(100_000 + accountSerial, 'radio-test');
  account.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
  const secrets = new Map([[credentials.accessKeyId, credentials.secretAccessKey]]);

  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: options.bucketConfigs ?? [] }, ...(options.extraBuckets ?? []).map((name) => ({ name }))] });
  const upstream = await s3rver.run();
  const events: ServerEvent[] = [];
  // s3rver rewrites an object in place, so a GET during a PUT of the same key can read a torn object or
  // hang on a short body. R2 and S3 replace objects atomically; requests on one key in turn give that.
  const lanes = new Map<string, Promise<void>>();
  const oneAtATime = async (key: string, task: () => Promise<void>) => {
    const done = (lanes.get(key) ?? Promise.resolve()).then(task);
    lanes.set(key, done);
    await done;
    if (lanes.get(key) === done) lanes.delete(key);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const method = req.method ?? 'GET';
    const key = keyOf(req.url ?? '/', bucket);
    events.push({ phase: 'received', method, key, ...(method === 'PUT' ? { body } : {}) });
    const answered = (status: number) => events.push({ phase: 'answered', method, key, status });
    const verdict = verifySigV4({ method, url: req.url ?? '/', headers: req.headersDistinct, body }, secrets);
    if (verdict.signed && !verdict.ok && verdict.code !== 'InvalidAccessKeyId') {
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${verdict.code}</Code><Message>${verdict.message}</Message></Error>`;
      res.writeHead(403, { 'content-type': 'application/xml' }).end(method === 'HEAD' ? undefined : xml);
      answered(403);
      return;
    }
    // s3rver answers unknown keys with InvalidAccessKeyId and skewed requests with RequestTimeTooSkewed.
    await oneAtATime(key, () => new Promise<void>((resolve) => {
      const forward = httpRequest({ host: '127.0.0.1', port: upstream.port, method, path: req.url, headers: req.headers }, (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
        reply.on('end', () => {
          answered(reply.statusCode ?? 502);
          resolve();
        });
      });
      forward.on('error', () => {
        res.destroy();
        resolve();
      });
      forward.end(body);
    }));
  };
  const front = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const { port } = front.address() as AddressInfo;

  return {
    target: { endpoint: `http://127.0.0.1:${port}`, bucket, prefix: '', credentials },
    events,
    async goDown() {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    },
    async comeBack() {
      await new Promise<void>((resolve) => front.listen(port, '127.0.0.1', resolve));
    },
    async stop() {
      front.closeAllConnections();
      if (front.listening) await new Promise<void>((resolve) => front.close(() => resolve()));
      await s3rver.close();
      account.revokeAccessKey(credentials.accessKeyId);
      await rm(directory, { recursive: true, force: true });
    },
  };
}
