import { describe, expect, it } from 'vitest';
import { loadSegment, SegmentLoadError, type SegmentLoadPolicy } from './segment-loader.ts';

const POLICY: SegmentLoadPolicy = { timeoutMs: 50, retries: 3, retryDelayMs: 1 };

/** A fetch that answers from a script of outcomes, one per call. */
function scriptedFetch(outcomes: Array<number | 'network' | 'hang'>) {
  const calls: string[] = [];
  const fetchFn = (async (url: string, init?: RequestInit) => {
    calls.push(url);
    const outcome = outcomes.shift();
    if (outcome === 'network') throw new TypeError('Failed to fetch');
    if (outcome === 'hang') {
      return new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    }
    return new Response(outcome === 200 ? new Uint8Array(1000) : null, { status: outcome ?? 500 });
  }) as typeof fetch;
  return { fetchFn, calls };
}

function load(outcomes: Array<number | 'network' | 'hang'>, signal = new AbortController().signal) {
  const { fetchFn, calls } = scriptedFetch(outcomes);
  let clock = 0;
  const promise = loadSegment('https://r2.example/lq/0000000001.m4s', { policy: POLICY, signal, label: 'lq segment 1', fetch: fetchFn, now: () => (clock += 250) });
  return { promise, calls };
}

describe(loadSegment.name, () => {
  it('returns the bytes and how long the download took', async () => {
    const { promise } = load([200]);
    const loaded = await promise;
    expect(loaded.bytes.byteLength).toBe(1000);
    expect(loaded.seconds).toBe(0.25);
  });

  it('retries a network failure, a 5xx and a timeout, then succeeds', async () => {
    const { promise, calls } = load(['network', 503, 'hang', 200]);
    expect((await promise).bytes.byteLength).toBe(1000);
    expect(calls).toHaveLength(4);
  });

  it('gives up after the retries with one sentence naming the segment', async () => {
    const { promise, calls } = load([404, 404, 404, 404]);
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SegmentLoadError);
    expect((error as SegmentLoadError).problem).toMatchObject({ kind: 'segment-missing', offline: false });
    expect((error as Error).message).toMatch(/has no lq segment 1 \(HTTP 404\)/);
    expect(calls).toHaveLength(4);
  });

  it('says a segment timed out', async () => {
    const { promise } = load(['hang', 'hang', 'hang', 'hang']);
    await expect(promise).rejects.toThrow('The lq segment 1 took longer than 0.05 s to download.');
  });

  it('stops at once when aborted, with the abort reason rather than a load error', async () => {
    const controller = new AbortController();
    const { promise, calls } = load(['hang', 200], controller.signal);
    controller.abort(new DOMException('stopped', 'AbortError'));
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toHaveLength(1);
  });
});
