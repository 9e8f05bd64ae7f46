import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { initKey, segmentKey, type Manifest } from '@radio/protocol';
import { PlayerEvents } from './events.ts';
import { ManifestPollController } from './manifest-poll-controller.ts';

const URL_ = 'https://r2.example/manifest.json';

function manifest(newestSeq: number, options: { live?: boolean; segmentSeconds?: number } = {}): Manifest {
  const segmentSeconds = options.segmentSeconds ?? 2;
  const seqs = [newestSeq - 2, newestSeq - 1, newestSeq];
  const entry = (stream: 'hq' | 'lq', seq: number) => ({
    seq, msn: seq, uri: segmentKey(stream, seq), init: initKey(stream, 0), samples: segmentSeconds * 48000,
    startedAt: '2026-11-23T22:59:40.000Z', bytes: 1000, discontinuity: false,
  });
  return {
    version: 2, station: 'Test FM', live: options.live ?? true, updatedAt: '2026-11-23T23:00:10.012Z', segmentSeconds, sampleRate: 48000, channels: 2, hls: 'live.m3u8',
    streams: {
      hq: { codec: 'flac', mimeType: 'audio/mp4; codecs="fLaC"', bitsPerSample: 16, playlist: 'hq/playlist.m3u8', segments: seqs.map((s) => entry('hq', s)) },
      lq: { codec: 'opus', mimeType: 'audio/mp4; codecs="Opus"', bitrate: 128000, playlist: 'lq/playlist.m3u8', segments: seqs.map((s) => entry('lq', s)) },
    },
  };
}

/** A storage stand-in: serves `body` with an ETag and answers 304 to a matching If-None-Match. */
class FakeStorage {
  body: string | undefined = JSON.stringify(manifest(10));
  failure: 'network' | 'cors' | undefined;
  readonly requests: Array<{ at: number; ifNoneMatch: string | null; mode: RequestMode | undefined }> = [];
  readonly fetch = (async (_url: string, init: RequestInit = {}) => {
    const ifNoneMatch = new Headers(init.headers).get('If-None-Match');
    this.requests.push({ at: Date.now(), ifNoneMatch, mode: init.mode });
    if (init.mode === 'no-cors') {
      if (this.failure === 'network') throw new TypeError('Failed to fetch');
      return new Response(null, { status: 200 });
    }
    if (this.failure) throw new TypeError('Failed to fetch');
    if (this.body === undefined) return new Response('no such key', { status: 404 });
    const etag = `"${this.body.length}-${[...this.body].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0)}"`;
    if (ifNoneMatch === etag) return new Response(null, { status: 304, headers: { ETag: etag } });
    return new Response(this.body, { status: 200, headers: { ETag: etag } });
  }) as typeof fetch;

  /** Milliseconds between consecutive manifest requests (the CORS probes left out). */
  gaps(): number[] {
    const times = this.requests.filter((r) => r.mode !== 'no-cors').map((r) => r.at);
    return times.slice(1).map((t, i) => t - times[i]!);
  }
}

function setup() {
  const storage = new FakeStorage();
  const events = new PlayerEvents();
  const seen: string[] = [];
  events.on('manifest', ({ manifest, changed }) => seen.push(`manifest ${manifest.streams.hq.segments.at(-1)!.seq}${changed ? '' : ' unchanged'}`));
  events.on('manifest-problem', ({ problem }) => seen.push(`${problem.kind}: ${problem.message}`));
  const host = { addController: vi.fn(), removeController: vi.fn(), requestUpdate: vi.fn(), updateComplete: Promise.resolve(true) };
  const poll = new ManifestPollController(host, events, { fetch: storage.fetch, now: () => Date.now(), random: () => 0.5 });
  return { storage, poll, seen, host };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe(ManifestPollController.name, () => {
  it('registers with its host and stops when the host disconnects', async () => {
    const { poll, host, storage } = setup();
    expect(host.addController).toHaveBeenCalledWith(poll);
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(0);
    poll.hostDisconnected();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(storage.requests).toHaveLength(1);
  });

  it('revalidates with the ETag, so an unchanged manifest costs a 304, and polls every segmentSeconds/2', async () => {
    const { poll, storage, seen } = setup();
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(2500);
    expect(storage.requests.map((r) => r.ifNoneMatch)).toEqual([null, expect.stringMatching(/^"/), expect.stringMatching(/^"/)]);
    expect(storage.gaps()).toEqual([1000, 1000]);
    expect(seen).toEqual(['manifest 10', 'manifest 10 unchanged', 'manifest 10 unchanged']);
    expect(poll.stats).toEqual({ manifestRequests: 3, manifestNotModified: 2 });
    storage.body = JSON.stringify(manifest(11));
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen.at(-1)).toBe('manifest 11');
    poll.stop();
  });

  it('never polls faster than once a second, and waits 5 s with 10 s segments', async () => {
    const { poll, storage } = setup();
    storage.body = JSON.stringify(manifest(10, { segmentSeconds: 1 }));
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(2000);
    expect(storage.gaps()).toEqual([1000, 1000]);
    storage.body = JSON.stringify(manifest(10, { segmentSeconds: 10 }));
    storage.requests.length = 0;
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(storage.gaps()).toEqual([5000, 5000]);
    poll.stop();
  });

  it('backs off while the manifest is malformed and recovers when a good one returns', async () => {
    const { poll, storage, seen } = setup();
    storage.body = '{"version":1,';
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(1000 + 2000 + 4000 + 8000 + 16000 + 30000 + 30000);
    expect(storage.gaps()).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(seen[0]).toBe('manifest-invalid: The station published a manifest this player cannot read (invalid manifest: the body is not JSON).');
    storage.body = JSON.stringify({ ...manifest(12), version: 1 });
    await vi.advanceTimersByTimeAsync(30000);
    expect(seen.at(-1)).toMatch(/manifest version 1 is not supported/);
    storage.body = JSON.stringify(manifest(12));
    await vi.advanceTimersByTimeAsync(30000 + 1000);
    expect(seen.slice(-2)).toEqual(['manifest 12', 'manifest 12 unchanged']);
    expect(storage.gaps().at(-1)).toBe(1000);
    poll.stop();
  });

  it('reports off air when the manifest says live: false, and polls slowly until it returns', async () => {
    const { poll, storage, seen } = setup();
    storage.body = JSON.stringify(manifest(10, { live: false }));
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(8000);
    expect(seen).toEqual(Array(3).fill('off-air: Off air: the station is not broadcasting right now.'));
    expect(storage.gaps()).toEqual([4000, 4000]);
    storage.body = JSON.stringify(manifest(11));
    await vi.advanceTimersByTimeAsync(4000);
    expect(seen.at(-1)).toBe('manifest 11');
    poll.stop();
  });

  it('reports a stalled station when a live manifest brings no new segment for 3 segments', async () => {
    const { poll, seen } = setup();
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(6000);
    expect(seen.at(-1)).toBe('manifest 10 unchanged');
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen.at(-1)).toBe('stalled: Off air: the station has sent no new audio for 7 s.');
    poll.stop();
  });

  it('tells a CORS refusal from an unreachable storage', async () => {
    const { poll, storage, seen } = setup();
    storage.failure = 'cors';
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.at(-1)).toMatch(/^cors: The station's storage does not allow this site \(CORS\)/);
    storage.failure = 'network';
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen.at(-1)).toBe("unreachable: Off air: the station's storage cannot be reached.");
    poll.stop();
  });

  it('says which HTTP status the storage answered', async () => {
    const { poll, storage, seen } = setup();
    storage.body = undefined;
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(["http: The station's storage has no manifest (HTTP 404): is the address right and is the station publishing?"]);
    poll.stop();
  });
});
