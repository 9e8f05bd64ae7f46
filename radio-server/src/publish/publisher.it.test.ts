import { createHash } from 'node:crypto';
import { initKey, parseManifestText, playlistKey, segmentKey, seqOfSegmentKey, STREAM_NAMES, type Manifest } from '@radio/protocol';
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
import { judgeMediaPlaylist, parsePlaylist, type JudgedSegment } from '../testing/playlist-judge.js';

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

/** The fragments of segment `seq`: distinct content per stream and seq, so that a mix-up shows. */
const bytesOf = (stream: string, seq: number) => Buffer.from(`${stream} segment ${seq};`.repeat(40 + (seq % 7)));
const initOf = (stream: string, run: number) => Buffer.from(`${stream} init of run ${run}`);

/** Segment `seq` of the run that began at `run`. */
function segment(seq: number, run = 0): [SegmentMeta, EncodedSegment[]] {
  const meta = { seq, run, samples: FULL, startedAt: new Date(START + seq * 2000), discontinuity: false };
  return [meta, STREAM_NAMES.map((stream) => ({ stream, seq, samples: FULL, bytes: bytesOf(stream, seq), init: initOf(stream, run) }))];
}

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const seqOf = (key: string) => seqOfSegmentKey(key)?.seq ?? NaN;
const INDEX_KEYS = ['hq/playlist.m3u8', 'lq/playlist.m3u8', 'manifest.json'];
const isIndex = (key: string) => INDEX_KEYS.includes(key);

async function text(s: S3TestServer, key: string): Promise<string> {
  return (await fetch(`${s.target.endpoint}/${s.target.bucket}/${key}`)).text();
}

/** The media playlist of `stream` as the bucket holds it, judged by m3u8-parser. */
async function playlistOf(s: S3TestServer, stream: 'hq' | 'lq') {
  return judgeMediaPlaylist(stream, await text(s, playlistKey(stream)));
}

/** The playlists the server received for `stream`, in order, judged by m3u8-parser. */
function playlistsWritten(events: readonly ServerEvent[], stream: 'hq' | 'lq'): JudgedSegment[][] {
  return events.filter((e) => e.phase === 'received' && e.method === 'PUT' && e.key === playlistKey(stream)).map((e) => judgeMediaPlaylist(stream, e.body!.toString('utf8')).segments);
}

/** Every media sequence number names one segment for good, and a playlist lists consecutive numbers. */
function checkMediaSequence(events: readonly ServerEvent[]): void {
  for (const stream of STREAM_NAMES) {
    const byMsn = new Map<number, string>();
    const timelineOf = new Map<number, number>();
    for (const listing of playlistsWritten(events, stream)) {
      for (const [i, seg] of listing.entries()) {
        if (i > 0) expect(seg.msn).toBe(listing[i - 1]!.msn + 1);
        expect(byMsn.get(seg.msn) ?? seg.key, `msn ${seg.msn} named two segments`).toBe(seg.key);
        expect(timelineOf.get(seg.msn) ?? seg.timeline, `msn ${seg.msn} changed discontinuity sequence`).toBe(seg.timeline);
        byMsn.set(seg.msn, seg.key);
        timelineOf.set(seg.msn, seg.timeline);
      }
    }
    const msns = [...byMsn.keys()].sort((a, b) => a - b);
    expect(msns).toEqual(msns.map((_, i) => msns[0]! + i));
  }
}

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
/** The keys besides the fragments: the inits of `runs`, both playlists, live.m3u8 and the manifest. */
const otherKeys = (...runs: number[]) => [...runs.flatMap((run) => STREAM_NAMES.map((stream) => initKey(stream, run))), ...INDEX_KEYS, 'live.m3u8'];

/**
 * Replays what the server saw and checks the protocol at every step: an index (either playlist or the
 * manifest) is written only when all it names is stored, inits included; a segment is deleted only when
 * no index that may still be served lists it, and only `window + keepExtra` segments after it; an init
 * only when no listed segment plays after it; HQ and LQ of a segment are in flight together.
 */
function checkProtocolOrder(events: readonly ServerEvent[], keepPast: number): void {
  const stored = new Set<string>();
  let current: number[] = [];
  let currentInits = new Set<string>();
  let indexesInFlight = 0;
  for (const [i, e] of events.entries()) {
    if (e.method === 'PUT' && isIndex(e.key)) {
      if (e.phase === 'answered') {
        indexesInFlight--;
        continue;
      }
      const named: string[] = [];
      if (e.key === 'manifest.json') {
        const [m] = manifestsWritten([e]);
        for (const stream of STREAM_NAMES) for (const seg of m!.streams[stream].segments) named.push(seg.uri, seg.init);
        current = listedSeqs(m!);
        currentInits = new Set(STREAM_NAMES.flatMap((stream) => m!.streams[stream].segments.map((seg) => seg.init)));
      } else {
        for (const seg of judgeMediaPlaylist(e.key.slice(0, 2), e.body!.toString('utf8')).segments) named.push(seg.key, seg.initKey);
      }
      for (const key of named) expect(stored, `event ${i}: ${e.key} names ${key} before it is stored`).toContain(key);
      indexesInFlight++;
    } else if (e.method === 'PUT') {
      if (e.phase === 'answered' && e.status === 200) stored.add(e.key);
      if (e.phase === 'received' && seqOfSegmentKey(e.key)) {
        const other = segmentKey(e.key.startsWith('hq/') ? 'lq' : 'hq', seqOf(e.key));
        const sibling = events.findIndex((x) => x.phase === 'received' && x.key === other);
        const firstAnswer = events.findIndex((x) => x.phase === 'answered' && (x.key === e.key || x.key === other));
        expect(sibling, `${e.key} and ${other} must be in flight together`).toBeLessThan(firstAnswer);
      }
    } else if (e.method === 'DELETE' && e.phase === 'received') {
      expect(indexesInFlight, `event ${i}: DELETE ${e.key} while an index write is in flight`).toBe(0);
      if (seqOfSegmentKey(e.key)) {
        expect(current, `event ${i}: DELETE ${e.key} still listed`).not.toContain(seqOf(e.key));
        expect(Math.max(...current) - seqOf(e.key), `event ${i}: DELETE ${e.key} too early`).toBeGreaterThanOrEqual(keepPast);
      } else {
        expect(currentInits, `event ${i}: DELETE ${e.key}, an init still in use`).not.toContain(e.key);
      }
      stored.delete(e.key);
    }
  }
}

describe(Publisher.name, () => {
  it('writes in the protocol\'s order: inits once, HQ and LQ in parallel, then the playlists and the manifest, then the deletions past window + keepExtra', async () => {
    const s = await server();
    const p = publisher(s3Store(s.target));
    expect(await p.resume(100)).toBe(100);
    for (let seq = 100; seq < 112; seq++) await p.publish(...segment(seq, 100));

    checkProtocolOrder(s.events, 3 + 2);
    checkMediaSequence(s.events);
    const received = s.events.filter((e) => e.phase === 'received' && e.method !== 'GET').map((e) => `${e.method} ${e.key}`);
    // Before the run's first segment, once: both inits and live.m3u8.
    expect(received.slice(0, 3).sort()).toEqual(['PUT hq/init-0000000100.mp4', 'PUT live.m3u8', 'PUT lq/init-0000000100.mp4']);
    expect(received.filter((r) => r.includes('init-') || r.includes('live.m3u8'))).toHaveLength(3);
    // The requests of the last segment, exactly.
    expect(received.slice(-7, -5).sort()).toEqual(['PUT hq/0000000111.m4s', 'PUT lq/0000000111.m4s']);
    expect(received.slice(-5, -2).sort()).toEqual(['PUT hq/playlist.m3u8', 'PUT lq/playlist.m3u8', 'PUT manifest.json']);
    expect(received.slice(-2).sort()).toEqual(['DELETE hq/0000000106.m4s', 'DELETE lq/0000000106.m4s']);

    const manifest = await manifestOf(s);
    expect(manifest).toMatchObject({ live: true, station: 'Test Radio', updatedAt: '2026-11-23T23:01:00.000Z', segmentSeconds: 2, hls: 'live.m3u8' });
    expect(listedSeqs(manifest)).toEqual([109, 110, 111]);
    expect(manifest.streams.lq.segments.map((e) => [e.seq, e.msn, e.init, e.bytes, e.discontinuity])).toEqual([109, 110, 111].map((seq) => [seq, seq - 100, 'lq/init-0000000100.mp4', bytesOf('lq', seq).length, false]));
    expect(await bucketKeys(s)).toEqual([...keysOf([107, 108, 109, 110, 111]), ...otherKeys(100)].sort());
    for (const key of keysOf([107, 108, 109, 110, 111])) {
      const body = new Uint8Array(await (await fetch(`${s.target.endpoint}/${s.target.bucket}/${key}`)).arrayBuffer());
      expect(digest(body), key).toBe(digest(bytesOf(key.slice(0, 2), seqOf(key))));
    }
    expect(await text(s, 'hq/init-0000000100.mp4')).toBe(initOf('hq', 100).toString());

    // The same window in the playlists, as an HLS client's parser reads them.
    for (const stream of STREAM_NAMES) {
      const { playlist, segments } = await playlistOf(s, stream);
      expect(playlist).toMatchObject({ targetDuration: 2, mediaSequence: 9, independentSegments: true, discontinuitySequence: 1 });
      expect(playlist.endList).toBeUndefined();
      expect(segments.map((x) => [x.key, x.initKey, x.duration, x.programDateTime])).toEqual(
        manifest.streams[stream].segments.map((e) => [e.uri, e.init, 2, e.startedAt]),
      );
    }
    const multivariant = parsePlaylist(await text(s, 'live.m3u8'));
    expect(multivariant.playlists!.map((v) => [v.uri, v.attributes.CODECS])).toEqual([['lq/playlist.m3u8', 'Opus'], ['hq/playlist.m3u8', 'fLaC']]);
    for (const v of multivariant.playlists!) expect(Number(v.attributes.BANDWIDTH)).toBeGreaterThan(Number(v.attributes['AVERAGE-BANDWIDTH']));

    await p.finish();
    const final = await manifestOf(s);
    expect(final.live).toBe(false);
    expect(listedSeqs(final)).toEqual([109, 110, 111]);
    for (const stream of STREAM_NAMES) expect((await playlistOf(s, stream)).playlist.endList).toBe(true);
  });

  it('with keepExtra 0 deletes each segment right after the manifest that drops it, never before', async () => {
    const s = await server();
    const p = publisher(s3Store(s.target), { window: 2, keepExtra: 0 });
    for (let seq = 0; seq < 6; seq++) await p.publish(...segment(seq));
    checkProtocolOrder(s.events, 2);
    expect(await bucketKeys(s)).toEqual([...keysOf([4, 5]), ...otherKeys(0)].sort());
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
          const playlist = judgeMediaPlaylist(stream, await (await fetch(`${base}/${playlistKey(stream)}`)).text());
          for (const key of new Set(playlist.segments.flatMap((x) => [x.key, x.initKey]))) {
            const object = await fetch(`${base}/${key}`);
            await object.arrayBuffer();
            objectsChecked++;
            if (object.status === 200) continue;
            // Only excusable if this listener is so slow that the station moved window + keepExtra past it.
            const now = parseManifestText(await (await fetch(`${base}/manifest.json`)).text());
            if (!now.ok || Math.max(...listedSeqs(now.manifest)) - seqOf(key) < 3 + 2) violations.push(`${key} (from ${playlistKey(stream)}): ${object.status}`);
          }
        }
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
    for (let seq = 0; seq < 6; seq++) await first.publish(...segment(seq, 0));
    // The first run dies without finish(); the second starts with a clock-derived floor below its seqs.
    // Its last segment was full: seq 6 is left out, as the new run's Opus priming would overlap its end.
    const second = publisher(store);
    expect(await second.resume(2)).toBe(7);
    expect(second.listed.map((x) => x.seq)).toEqual([3, 4, 5]);
    for (let seq = 7; seq < 11; seq++) await second.publish(...segment(seq, 7));

    const manifest = await manifestOf(s);
    expect(manifest.streams.hq.segments.map((e) => [e.seq, e.msn, e.discontinuity])).toEqual([[8, 7, false], [9, 8, false], [10, 9, false]]);
    // Each key is written once (live.m3u8 too: the restart found it unchanged); the indexes every segment.
    const putKeys = s.events.filter((e) => e.phase === 'received' && e.method === 'PUT' && !isIndex(e.key)).map((e) => e.key);
    expect(new Set(putKeys).size).toBe(putKeys.length);
    expect(putKeys.filter((k) => k === 'live.m3u8')).toHaveLength(1);
    // 3 and 4 were listed by the first run: the second deletes them once they are window + keepExtra behind;
    // 1 and 2, which the first run kept past its window (keepExtra), go with its first deletions.
    const keys = await bucketKeys(s);
    for (const seq of [1, 2, 3, 4]) for (const stream of ['hq', 'lq'] as const) expect(keys).not.toContain(segmentKey(stream, seq));
    expect(keys).toEqual(expect.arrayContaining(keysOf([5, 7, 8, 9, 10])));

    const third = publisher(store);
    expect(await third.resume(1000)).toBe(1000);
    const published = await third.publish(...segment(1000, 1000));
    expect(published).toMatchObject({ discontinuity: true, msn: 10 });
    const after = await manifestOf(s);
    expect(after.streams.lq.segments.map((e) => [e.seq, e.msn, e.discontinuity])).toEqual([[9, 8, false], [10, 9, false], [1000, 10, true]]);
    // In the playlists: consecutive MSNs across both restarts, a DISCONTINUITY and a new EXT-X-MAP at the new run.
    const { segments } = await playlistOf(s, 'hq');
    expect(segments.map((x) => [x.msn, x.key, x.initKey, x.discontinuity])).toEqual([
      [8, 'hq/0000000009.m4s', 'hq/init-0000000007.mp4', false],
      [9, 'hq/0000000010.m4s', 'hq/init-0000000007.mp4', false],
      [10, 'hq/0000001000.m4s', 'hq/init-0000001000.mp4', true],
    ]);
    checkMediaSequence(s.events);
    // The first run's init went once no kept segment played after it; the second's is still in use.
    expect(await bucketKeys(s)).not.toContain('hq/init-0000000000.mp4');
    expect(await bucketKeys(s)).toEqual(expect.arrayContaining(otherKeys(7, 1000)));
    // The restart showed in the middle run too: its first segment, 7, began a new run after 5.
    const withSeven = manifestsWritten(s.events).find((m) => listedSeqs(m).includes(7))!;
    expect(withSeven.streams.hq.segments.map((e) => [e.seq, e.discontinuity])).toEqual([[4, false], [5, false], [7, true]]);
    checkProtocolOrder(s.events, 3 + 2);
  });

  it('marks a discontinuity where seqs skip (segments dropped during an outage)', async () => {
    const s = await server();
    const p = publisher(s3Store(s.target));
    const flags = [];
    for (const seq of [30, 31, 33, 34]) flags.push((await p.publish(...segment(seq))).discontinuity);
    expect(flags).toEqual([true, false, true, false]);
    expect((await manifestOf(s)).streams.hq.segments.map((e) => [e.seq, e.msn, e.discontinuity])).toEqual([[31, 1, false], [33, 2, true], [34, 3, false]]);
    // The MSNs stay consecutive over the gap; the playlist marks it.
    expect((await playlistOf(s, 'lq')).segments.map((x) => [x.msn, x.discontinuity])).toEqual([[1, false], [2, true], [3, false]]);
    checkMediaSequence(s.events);
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
    expect(error).toMatchObject({ code: 'SignatureDoesNotMatch', kind: 'credentials', key: 'lq/0000000022.m4s' });
    expect(listedSeqs(await manifestOf(s))).toEqual([20, 21]);
    expect(await bucketKeys(s)).toContain('hq/0000000022.m4s');

    expect((await p.publish(...segment(23))).discontinuity).toBe(true);
    expect(listedSeqs(await manifestOf(s))).toEqual([20, 21, 23]);
    expect(await bucketKeys(s)).toEqual([...keysOf([20, 21, 23]), ...otherKeys(0)].sort());
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
    const segmentPuts = s.events.filter((e) => e.phase === 'received' && e.method === 'PUT' && e.key === 'hq/0000000041.m4s');
    expect(segmentPuts).toHaveLength(1);
  });
});
