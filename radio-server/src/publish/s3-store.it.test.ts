import { createHash, randomBytes } from 'node:crypto';
import { OBJECT_HEADERS, segmentKey } from '@radio/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_REQUEST_POLICY, type StorageRequestPolicy } from './request-policy.js';
import { StorageError } from './s3-errors.js';
import { S3Store, type S3Target } from './s3-store.js';
import { LEVEL, memoryLogger } from './testing/memory-log.js';
import { startS3TestServer, type S3TestServer } from './testing/s3-test-server.js';

/** The daemon's policy with short delays, so that failing tests stay quick. */
const quickPolicy: StorageRequestPolicy = { ...STORAGE_REQUEST_POLICY, backoffBaseMs: 5, backoffMaxMs: 20 };

let server: S3TestServer;
const stores: S3Store[] = [];

function storeFor(target: S3Target) {
  const { log, lines, text } = memoryLogger();
  const store = new S3Store({ target, log, policy: quickPolicy });
  stores.push(store);
  return { store, lines, text };
}

/** Large buffers compare by digest: a deep equality over 300 kB takes seconds. */
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What a listener's browser gets for a key: an anonymous GET of the object's URL. */
async function fetchObject(key: string) {
  const response = await fetch(`${server.target.endpoint}/${server.target.bucket}/${key}`);
  return { status: response.status, contentType: response.headers.get('content-type'), cacheControl: response.headers.get('cache-control'), sha256: sha256(Buffer.from(await response.arrayBuffer())) };
}

beforeAll(async () => {
  server = await startS3TestServer();
});

afterAll(async () => {
  for (const store of stores) store.destroy();
  await server?.stop();
});

describe(S3Store.name, () => {
  it('stores segments and the manifest with the protocol\'s Content-Type and Cache-Control, bit for bit', async () => {
    const { store } = storeFor(server.target);
    const flac = randomBytes(300_000);
    const opus = randomBytes(40_000);
    const manifest = Buffer.from('{"version":1}\n');
    await Promise.all([
      store.put(segmentKey('hq', 41), flac, OBJECT_HEADERS.segment),
      store.put(segmentKey('lq', 41), opus, OBJECT_HEADERS.segment),
      store.put('manifest.json', manifest, OBJECT_HEADERS.manifest),
    ]);
    expect(await fetchObject('hq/0000000041.m4s')).toEqual({ status: 200, contentType: 'audio/mp4', cacheControl: 'public, max-age=31536000, immutable', sha256: sha256(flac) });
    expect(await fetchObject('lq/0000000041.m4s')).toEqual({ status: 200, contentType: 'audio/mp4', cacheControl: 'public, max-age=31536000, immutable', sha256: sha256(opus) });
    expect(await fetchObject('manifest.json')).toEqual({ status: 200, contentType: 'application/json', cacheControl: 'public, max-age=1', sha256: sha256(manifest) });
    expect(sha256((await store.get(segmentKey('hq', 41)))!)).toBe(sha256(flac));
  });

  it('reads a missing object as undefined, and deletes (a missing object too) without error', async () => {
    const { store } = storeFor(server.target);
    await store.put('hq/0000000042.m4s', Buffer.from('x'), OBJECT_HEADERS.segment);
    await store.delete('hq/0000000042.m4s');
    expect(await store.get('hq/0000000042.m4s')).toBeUndefined();
    await store.delete('hq/0000000042.m4s');
    expect((await fetchObject('hq/0000000042.m4s')).status).toBe(404);
  });

  it('puts every key under R2_PREFIX', async () => {
    const { store } = storeFor({ ...server.target, prefix: '/stations/kxyz/' });
    await store.put('manifest.json', Buffer.from('{}'), OBJECT_HEADERS.manifest);
    expect((await fetchObject('stations/kxyz/manifest.json')).status).toBe(200);
    expect(Buffer.from((await store.get('manifest.json'))!).toString()).toBe('{}');
    await store.delete('manifest.json');
    expect((await fetchObject('stations/kxyz/manifest.json')).status).toBe(404);
  });

  it('is refused with a wrong secret key (SigV4 checked): classified, not retried, names R2_SECRET_KEY, never shows the secret', async () => {
    const wrongSecret = `wrong-${randomBytes(16).toString('hex')}`;
    const { store, lines, text } = storeFor({ ...server.target, credentials: { ...server.target.credentials, secretAccessKey: wrongSecret } });
    const before = server.events.length;
    const error = await store.put('hq/0000000043.m4s', Buffer.from('x'), OBJECT_HEADERS.segment).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'SignatureDoesNotMatch', kind: 'credentials' });
    expect((error as Error).message).toContain('R2_SECRET_KEY');
    expect(server.events.slice(before).filter((e) => e.phase === 'received')).toHaveLength(1);
    // The caller reports it (the station, rate-limited per cause): the store says it at debug only.
    expect(lines.filter((l) => l.level === LEVEL.error)).toEqual([]);
    expect(lines.filter((l) => l.level === LEVEL.debug).map((l) => l.msg)).toEqual([(error as Error).message]);
    expect(text()).not.toContain(wrongSecret);
    expect(JSON.stringify(store)).not.toContain(wrongSecret);
    expect((await fetchObject('hq/0000000043.m4s')).status).toBe(404);
  });

  it('is refused with an unknown access key: InvalidAccessKeyId, naming R2_ACCESS_KEY', async () => {
    const { store } = storeFor({ ...server.target, credentials: { accessKeyId: 'not-a-key', secretAccessKey: 'whatever' } });
    const error = await store.get('manifest.json').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'InvalidAccessKeyId', kind: 'credentials' });
    expect((error as Error).message).toContain('R2_ACCESS_KEY');
  });

  it('says when the bucket does not exist', async () => {
    const { store } = storeFor({ ...server.target, bucket: 'no-such-bucket' });
    const error = await store.put('manifest.json', Buffer.from('{}'), OBJECT_HEADERS.manifest).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NoSuchBucket', kind: 'missing-bucket' });
    expect((error as Error).message).toContain('R2_BUCKET');
  });

  it('retries an unreachable endpoint three times, logging the first retry of each cause, then fails as transient', async () => {
    const gone = await startS3TestServer();
    await gone.stop();
    const { store, lines } = storeFor(gone.target);
    const error = await store.put('manifest.json', Buffer.from('{}'), OBJECT_HEADERS.manifest).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECONNREFUSED', kind: 'transient' });
    // Retries are rate-limited per operation and code (a flapping endpoint must not flood the journal).
    expect(lines.filter((l) => l.level === LEVEL.warn).map((l) => [l.retry, l.cause])).toEqual([[1, 'PUT ECONNREFUSED']]);
    expect(lines.filter((l) => l.level === LEVEL.error)).toEqual([]);
    expect(lines.filter((l) => l.level === LEVEL.debug).map((l) => l.code)).toEqual(['ECONNREFUSED']);
  });
});
