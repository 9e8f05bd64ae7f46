import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { initKey, segmentKey, type Manifest } from '@radio/protocol';
import { PlayerEvents } from './events.ts';
import { ManifestPollController, pollRetryMs } from './manifest-poll-controller.ts';

const URL_ = 'https://r2.example/manifest.json';

function manifest(newestSeq: number, options: { live?: boolean; segmentSeconds?: number; updatedAt?: number } = {}): Manifest {
  const segmentSeconds = options.segmentSeconds ?? 2;
  const seqs = [newestSeq - 2, newestSeq - 1, newestSeq];
  const entry = (stream: 'hq' | 'lq', seq: number) => ({
    seq, msn: seq, uri: segmentKey(stream, seq), init: initKey(stream, 0), samples: segmentSeconds * 48000,
    startedAt: new Date(seq * segmentSeconds * 1000).toISOString(), bytes: 1000, discontinuity: false,
  });
  const updatedAt = new Date(options.updatedAt ?? (newestSeq + 1) * segmentSeconds * 1000).toISOString();
  return {
    version: 2, station: 'Test FM', live: options.live ?? true, updatedAt, segmentSeconds, sampleRate: 48000, channels: 2, hls: 'live.m3u8',
    streams: {
      hq: { codec: 'flac', mimeType: 'audio/mp4; codecs="fLaC"', bitsPerSample: 16, playlist: 'hq/playlist.m3u8', segments: seqs.map((s) => entry('hq', s)) },
      lq: { codec: 'opus', mimeType: 'audio/mp4; codecs="Opus"', bitrate: 128000, playlist: 'lq/playlist.m3u8', segments: seqs.map((s) => entry('lq', s)) },
    },
  };
}

/** A storage stand-in: serves `body` with an ETag (weak, as a CDN may make it, with `weak`) and answers 304 to a matching If-None-Match. */
class FakeStorage {
  body: string | undefined = JSON.stringify(manifest(10));
  failure: 'network' | 'cors' | undefined;
  weak = false;
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
    const etag = `${this.weak ? 'W/' : ''}"${this.body.length}-${[...this.body].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0)}"`;
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

  it.each([false, true])('revalidates with the ETag (weak: %s) as it came, so an unchanged manifest costs a 304', async (weak) => {
    const { poll, storage, seen } = setup();
    storage.weak = weak;
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(500);
    const etag = weak ? /^W\/"/ : /^"/;
    expect(storage.requests.map((r) => r.ifNoneMatch)).toEqual([null, expect.stringMatching(etag), expect.stringMatching(etag)]);
    expect(seen).toEqual(['manifest 10', 'manifest 10 unchanged', 'manifest 10 unchanged']);
    expect(poll.stats).toEqual({ manifestRequests: 3, manifestNotModified: 2 });
    storage.body = JSON.stringify(manifest(11));
    await vi.advanceTimersByTimeAsync(250);
    expect(seen.at(-1)).toBe('manifest 11');
    poll.stop();
  });

  it.each([2, 10])('polls on the segment clock (%i s segments): once it saw one arrive, when the next is due, and sees each within a retry of its publication', async (segmentSeconds) => {
    const { poll, storage, seen } = setup();
    const segmentMs = segmentSeconds * 1000;
    // The station publishes segment N 150 ms (plus up to 100 ms of jitter) after its end, (N + 1) segments since 1970.
    const start = 1_796_000_000_000;
    const publishedAt = (n: number) => (n + 1) * segmentMs + 150 + ((n * 37) % 100);
    const newestAt = (t: number) => {
      let n = Math.floor(t / segmentMs) - 1;
      while (publishedAt(n) > t) n--;
      return n;
    };
    vi.setSystemTime(start + 0.37 * segmentMs);
    const publish = () => {
      const n = newestAt(Date.now());
      storage.body = JSON.stringify(manifest(n, { segmentSeconds, updatedAt: publishedAt(n) }));
    };
    const timer = setInterval(publish, 10);
    publish();
    void poll.start(URL_);
    await vi.advanceTimersByTimeAsync(20 * segmentMs);
    clearInterval(timer);
    poll.stop();
    // Looking for the first arrival, it polls every retry until it sees one; after that, about one poll per segment.
    const retryMs = pollRetryMs(segmentSeconds);
    const times = storage.requests.map((r) => r.at);
    const settled = times.filter((t) => t > start + 3 * segmentMs);
    const perSegment = settled.length / ((times.at(-1)! - (start + 3 * segmentMs)) / segmentMs);
    expect(perSegment).toBeLessThan(2.2);
    expect(perSegment).toBeGreaterThan(1);
    // Every segment was seen, within a retry (and the jitter) of its publication.
    const seenAt = new Map<number, number>();
    for (const [i, entry] of seen.entries()) {
      const n = Number(/^manifest (\d+)$/.exec(entry)?.[1]);
      if (!Number.isNaN(n) && !seenAt.has(n)) seenAt.set(n, times[i]!);
    }
    const lags = [...seenAt].filter(([n]) => publishedAt(n) > start + 3 * segmentMs).map(([n, at]) => at - publishedAt(n));
    expect(lags.length).toBeGreaterThanOrEqual(15);
    expect(Math.max(...lags)).toBeLessThanOrEqual(retryMs + 100);
    expect(Math.min(...lags)).toBeGreaterThanOrEqual(0);
  });

  it('retries every eighth of a segment (within 250 ms and 1 s) while the next segment is late', () => {
    expect([1, 2, 4, 10, 20].map((s) => pollRetryMs(s))).toEqual([250, 250, 500, 1000, 1000]);
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
    await vi.advanceTimersByTimeAsync(30000 + 250);
    expect(seen.slice(-2)).toEqual(['manifest 12', 'manifest 12 unchanged']);
    expect(storage.gaps().at(-1)).toBe(250);
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
    await vi.advanceTimersByTimeAsync(250);
    expect(seen.at(-1)).toBe('stalled: Off air: the station has sent no new audio for 6 s.');
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

  it('says when the player itself failed, never leaves it unhandled, and tries again with backoff', async () => {
    const { poll, storage, seen } = setup();
    const fetchOk = storage.fetch;
    let broken = true;
    const flaky = (async (url: string, init?: RequestInit) => {
      if (broken) throw new RangeError('a bug');
      return fetchOk(url, init);
    }) as typeof fetch;
    const events = new PlayerEvents();
    events.on('manifest', ({ manifest }) => seen.push(`manifest ${manifest.streams.hq.segments.at(-1)!.seq}`));
    events.on('manifest-problem', ({ problem }) => seen.push(`${problem.kind}: ${problem.message}`));
    const host = { addController: vi.fn(), removeController: vi.fn(), requestUpdate: vi.fn(), updateComplete: Promise.resolve(true) };
    const flakyPoll = new ManifestPollController(host, events, { fetch: flaky, now: () => Date.now(), random: () => 0.5 });
    const done = flakyPoll.start(URL_);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(['unexpected: Something went wrong in the player (RangeError: a bug); it keeps trying.']);
    broken = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen.at(-1)).toBe('manifest 10');
    flakyPoll.stop();
    poll.stop();
    await expect(done).resolves.toBeUndefined();
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
