import { createHash } from 'node:crypto';
import { parseManifestText, segmentKey, STREAM_NAMES, type Manifest } from '@radio/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { EncodedSegment } from '../encode/segment-encoder.js';
import type { StationDescription } from './manifest-builder.js';
import type { ObjectHeaders, ObjectStore } from './object-store.js';
import { Publisher, type PublisherOptions, type SegmentMeta } from './publisher.js';
import { STORAGE_REQUEST_POLICY } from './request-policy.js';
import { StorageError } from './s3-errors.js';
import { S3Store, type S3Target } from './s3-store.js';
import { memoryLogger } from './testing/memory-log.js';
import { startS3TestServer, type S3TestServer, type ServerEvent } from './testing/s3-test-server.js';

const station: StationDescription = { station: 'Test Radio', segmentSeconds: 2, format: { sampleRate: 48000, channels: 2, bitsPerSample: 24 }, opusBitrate: 128000 };
const FULL = 96_000;
const START = Date.parse('2026-11-23T23:00:00.000Z');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<S3TestServer> {
  const s = await startS3TestServer();
  cleanups.push(() => s.stop());
  return s;
}

function s3Store(target: S3Target): S3Store {
  const store = new S3Store({ target, log: memoryLogger().log, policy: { ...STORAGE_REQUEST_POLICY, backoffBaseMs: 5, backoffMaxMs: 20 } });
  cleanups.push(() => store.destroy());
  return store;
}

function publisher(store: ObjectStore, options: Partial<PublisherOptions> = {}): Publisher {
  return new Publisher({ store, station, window: 3, keepExtra: 2, log: memoryLogger().log, now: () => new Date(START + 60_000), ...options });
}

/** The files of segment `seq`: distinct content per stream and seq, so that a mix-up shows. */
const bytesOf = (stream: string, seq: number) => Buffer.from(`${stream} segment ${seq};`.repeat(40 + (seq % 7)));

function segment(seq: number): [SegmentMeta, EncodedSegment[]] {
  const meta = { seq, samples: FULL, startedAt: new Date(START + seq * 2000), discontinuity: false };
  return [meta, STREAM_NAMES.map((stream) => ({ stream, seq, samples: FULL, bytes: bytesOf(stream, seq) }))];
}

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const seqOf = (key: string) => Number(/(\d{10})\./.exec(key)?.[1]);

async function manifestOf(s: S3TestServer): Promise<Manifest> {
  const response = await fetch(`${s.target.endpoint}/${s.target.bucket}/manifest.json`);
  const parsed = parseManifestText(await response.text());
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.manifest;
}

/** The manifests the server received, in order. */
function manifestsWritten(events: readonly ServerEvent[]): Manifest[] {
  return events
    .filter((e) => e.phase === 'received' && e.method === 'PUT' && e.key === 'manifest.json')
    .map((e) => {
      const parsed = parseManifestText(e.body!.toString('utf8'));
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.manifest;
    });
}

const listedSeqs = (m: Manifest) => m.streams.hq.segments.map((e) => e.seq);

/** Every key in the bucket, from an S3 ListObjects as any client would see it. */
async function bucketKeys(s: S3TestServer): Promise<string[]> {
  const xml = await (await fetch(`${s.target.endpoint}/${s.target.bucket}?list-type=2`)).text();
  return [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]!).sort();
}

const keysOf = (seqs: number[]) => seqs.flatMap((seq) => STREAM_NAMES.map((stream) => segmentKey(stream, seq))).sort();

/**
 * Replays what the server saw and checks the protocol at every step: a manifest is written only when all it
 * names is stored; a segment is deleted only when no manifest that may still be served lists it, and only
 * `window + keepExtra` segments after it; HQ and LQ of a segment are in flight together.
 */
function checkProtocolOrder(events: readonly ServerEvent[], keepPast: number): void {
  const stored = new Set<string>();
  let current: number[] = [];
  let manifestInFlight = false;
  for (const [i, e] of events.entries()) {
    if (e.method === 'PUT' && e.key === 'manifest.json') {
      if (e.phase === 'answered') {
        manifestInFlight = false;
        continue;
      }
      const [m] = manifestsWritten([e]);
      for (const stream of STREAM_NAMES) for (const s of m!.streams[stream].segments) expect(stored, `event ${i}: manifest names ${s.uri} before it is stored`).toContain(s.uri);
      current = listedSeqs(m!);
      manifestInFlight = true;
    } else if (e.method === 'PUT') {
      if (e.phase === 'answered' && e.status === 200) stored.add(e.key);
      if (e.phase === 'received') {
        const other = segmentKey(e.key.startsWith('hq/') ? 'lq' : 'hq', seqOf(e.key));
        const sibling = events.findIndex((x) => x.phase === 'received' && x.key === other);
        const firstAnswer = events.findIndex((x) => x.phase === 'answered' && (x.key === e.key || x.key === other));
        expect(sibling, `${e.key} and ${other} must be in flight together`).toBeLessThan(firstAnswer);
      }
    } else if (e.method === 'DELETE' && e.phase === 'received') {
      expect(manifestInFlight, `event ${i}: DELETE ${e.key} while a manifest write is in flight`).toBe(false);
      expect(current, `event ${i}: DELETE ${e.key} still listed`).not.toContain(seqOf(e.key));
      expect(Math.max(...current) - seqOf(e.key), `event ${i}: DELETE ${e.key} too early`).toBeGreaterThanOrEqual(keepPast);
      stored.delete(e.key);
    }
  }
}

describe(Publisher.name, () => {
  it('writes in the protocol\'s order: HQ and LQ in parallel, then the manifest, then the deletions past window + keepExtra', async () => {
    const s = await server();
    const p = publisher(s3Store(s.target));
    expect(await p.resume(100)).toBe(100);
    for (let seq = 100; seq < 112; seq++) await p.publish(...segment(seq));

    checkProtocolOrder(s.events, 3 + 2);
    // The requests of the last segment, exactly.
    const received = s.events.filter((e) => e.phase === 'received').map((e) => `${e.method} ${e.key}`);
    expect(received.slice(-5, -3).sort()).toEqual(['PUT hq/0000000111.flac', 'PUT lq/0000000111.opus']);
    expect(received.slice(-3, -2)).toEqual(['PUT manifest.json']);
    expect(received.slice(-2).sort()).toEqual(['DELETE hq/0000000106.flac', 'DELETE lq/0000000106.opus']);

    const manifest = await manifestOf(s);
    expect(manifest).toMatchObject({ live: true, station: 'Test Radio', updatedAt: '2026-11-23T23:01:00.000Z', segmentSeconds: 2 });
    expect(listedSeqs(manifest)).toEqual([109, 110, 111]);
    expect(manifest.streams.lq.segments.map((e) => [e.seq, e.bytes, e.discontinuity])).toEqual([109, 110, 111].map((seq) => [seq, bytesOf('lq', seq).length, false]));
    expect(await bucketKeys(s)).toEqual([...keysOf([107, 108, 109, 110, 111]), 'manifest.json'].sort());
    for (const key of keysOf([107, 108, 109, 110, 111])) {
      const body = new Uint8Array(await (await fetch(`${s.target.endpoint}/${s.target.bucket}/${key}`)).arrayBuffer());
      expect(digest(body), key).toBe(digest(bytesOf(key.slice(0, 2), seqOf(key))));
    }

    await p.finish();
    const final = await manifestOf(s);
    expect(final.live).toBe(false);
    expect(listedSeqs(final)).toEqual([109, 110, 111]);
  });

  it('with keepExtra 0 deletes each segment right after the manifest that drops it, never before', async () => {
    const s = await server();
    const p = publisher(s3Store(s.target), { window: 2, keepExtra: 0 });
    for (let seq = 0; seq < 6; seq++) await p.publish(...segment(seq));
    checkProtocolOrder(s.events, 2);
    expect(await bucketKeys(s)).toEqual([...keysOf([4, 5]), 'manifest.json'].sort());
  });

  it('never lets a concurrent listener see a manifest that names a missing object', async () => {
    const s = await server();
    const p = publisher(s3Store(s.target));
    const base = `${s.target.endpoint}/${s.target.bucket}`;
    let publishing = true;
    const seen = new Set<number>();
    const violations: string[] = [];
    let objectsChecked = 0;
    const poll = async () => {
      while (publishing) {
        const response = await fetch(`${base}/manifest.json`);
        if (response.status === 404) {
          await response.arrayBuffer();
          continue;
        }
        const parsed = parseManifestText(await response.text());
        if (!parsed.ok) {
          violations.push(parsed.error);
          continue;
        }
        seen.add(Math.max(...listedSeqs(parsed.manifest)));
        for (const stream of STREAM_NAMES) {
          for (const entry of parsed.manifest.streams[stream].segments) {
            const object = await fetch(`${base}/${entry.uri}`);
            const bytes = (await object.arrayBuffer()).byteLength;
            objectsChecked++;
            if (object.status === 200 && bytes === entry.bytes) continue;
            // Only excusable if this listener is so slow that the station moved window + keepExtra past it.
            const now = parseManifestText(await (await fetch(`${base}/manifest.json`)).text());
            if (!now.ok || Math.max(...listedSeqs(now.manifest)) - entry.seq < 3 + 2) violations.push(`${entry.uri}: ${object.status}, ${bytes} bytes`);
          }
        }
      }
    };
    const poller = poll();
    for (let seq = 0; seq < 40; seq++) await p.publish(...segment(seq));
    publishing = false;
    await poller;
    checkProtocolOrder(s.events, 3 + 2);
    expect(violations).toEqual([]);
    expect(seen.size).toBeGreaterThan(1);
    expect(objectsChecked).toBeGreaterThan(0);
  });

  it('resumes after a restart: seqs never reused, the first new segment a discontinuity, the old listed ones deleted in due course', async () => {
    const s = await server();
    const store = s3Store(s.target);
    const first = publisher(store);
    expect(await first.resume(0)).toBe(0);
    for (let seq = 0; seq < 6; seq++) await first.publish(...segment(seq));
    // The first run dies without finish(); the second starts with a clock-derived floor below its seqs.
    const second = publisher(store);
    expect(await second.resume(2)).toBe(6);
    expect(second.listed.map((x) => x.seq)).toEqual([3, 4, 5]);
    for (let seq = 6; seq < 10; seq++) await second.publish(...segment(seq));

    const manifest = await manifestOf(s);
    expect(manifest.streams.hq.segments.map((e) => [e.seq, e.discontinuity])).toEqual([[7, false], [8, false], [9, false]]);
    const putKeys = s.events.filter((e) => e.phase === 'received' && e.method === 'PUT' && e.key !== 'manifest.json').map((e) => e.key);
    expect(new Set(putKeys).size).toBe(putKeys.length);
    // 3 and 4 were listed by the first run: the second deletes them once they are window + keepExtra behind;
    // 1 and 2, which the first run kept past its window (keepExtra), go with its first deletions.
    const keys = await bucketKeys(s);
    for (const seq of [1, 2, 3, 4]) for (const stream of ['hq', 'lq'] as const) expect(keys).not.toContain(segmentKey(stream, seq));
    expect(keys).toEqual(expect.arrayContaining(keysOf([5, 6, 7, 8, 9])));

    const third = publisher(store);
    expect(await third.resume(1000)).toBe(1000);
    const published = await third.publish(...segment(1000));
    expect(published.discontinuity).toBe(true);
    const after = await manifestOf(s);
    expect(after.streams.lq.segments.map((e) => [e.seq, e.discontinuity])).toEqual([[8, false], [9, false], [1000, true]]);
    // The restart showed in the middle run too: its first segment, 6, followed 5 but began a new run.
    const withSix = manifestsWritten(s.events).find((m) => listedSeqs(m).includes(6))!;
    expect(withSix.streams.hq.segments.map((e) => [e.seq, e.discontinuity])).toEqual([[4, false], [5, false], [6, true]]);
    checkProtocolOrder(s.events, 3 + 2);
  });

  it('marks a discontinuity where seqs skip (segments dropped during an outage)', async () => {
    const s = await server();
    const p = publisher(s3Store(s.target));
    const flags = [];
    for (const seq of [30, 31, 33, 34]) flags.push((await p.publish(...segment(seq))).discontinuity);
    expect(flags).toEqual([true, false, true, false]);
    expect((await manifestOf(s)).streams.hq.segments.map((e) => [e.seq, e.discontinuity])).toEqual([[31, false], [33, true], [34, false]]);
  });

  it('lists nothing of a segment whose PUT failed, throws the classified error, and removes its stored half', async () => {
    const s = await server();
    const good = s3Store(s.target);
    const refused = s3Store({ ...s.target, credentials: { ...s.target.credentials, secretAccessKey: 'not-the-secret' } });
    // LQ of seq 22 goes out with a wrong secret: the real server refuses it, HQ of 22 is stored.
    const store: ObjectStore = {
      put: (key: string, body: Uint8Array, headers: ObjectHeaders) => (key === segmentKey('lq', 22) ? refused : good).put(key, body, headers),
      get: (key: string) => good.get(key),
      list: (prefix: string) => good.list(prefix),
      delete: (key: string) => good.delete(key),
    };
    const p = publisher(store);
    await p.publish(...segment(20));
    await p.publish(...segment(21));
    const error = await p.publish(...segment(22)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'SignatureDoesNotMatch', kind: 'credentials', key: 'lq/0000000022.opus' });
    expect(listedSeqs(await manifestOf(s))).toEqual([20, 21]);
    expect(await bucketKeys(s)).toContain('hq/0000000022.flac');

    expect((await p.publish(...segment(23))).discontinuity).toBe(true);
    expect(listedSeqs(await manifestOf(s))).toEqual([20, 21, 23]);
    expect(await bucketKeys(s)).toEqual([...keysOf([20, 21, 23]), 'manifest.json'].sort());
  });

  it('takes the same segment again after its manifest failed, and lists it then', async () => {
    const s = await server();
    const good = s3Store(s.target);
    const refused = s3Store({ ...s.target, credentials: { ...s.target.credentials, accessKeyId: 'unknown-key' } });
    let refuseManifest = false;
    const store: ObjectStore = {
      put: (key: string, body: Uint8Array, headers: ObjectHeaders) => (refuseManifest && key === 'manifest.json' ? refused : good).put(key, body, headers),
      get: (key: string) => good.get(key),
      list: (prefix: string) => good.list(prefix),
      delete: (key: string) => good.delete(key),
    };
    const p = publisher(store);
    await p.publish(...segment(40));
    refuseManifest = true;
    await expect(p.publish(...segment(41))).rejects.toMatchObject({ code: 'InvalidAccessKeyId', key: 'manifest.json' });
    expect(listedSeqs(await manifestOf(s))).toEqual([40]);
    refuseManifest = false;
    expect(await p.publish(...segment(41))).toMatchObject({ seq: 41, discontinuity: false });
    expect(listedSeqs(await manifestOf(s))).toEqual([40, 41]);
    const segmentPuts = s.events.filter((e) => e.phase === 'received' && e.method === 'PUT' && e.key.endsWith('41.flac'));
    expect(segmentPuts).toHaveLength(1);
  });
});
