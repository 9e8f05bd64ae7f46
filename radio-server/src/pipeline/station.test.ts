import { describe, expect, it } from 'vitest';
import type { PcmSource } from '../capture/pcm-source.js';
import type { EncodedSegment, SegmentEncoder } from '../encode/segment-encoder.js';
import { LEVEL, memoryLogger } from '../publish/testing/memory-log.js';
import { StorageError, classifyS3Error } from '../publish/s3-errors.js';
import type { SegmentMeta } from '../publish/publisher.js';
import type { Segment } from '../segment/segmenter.js';
import { Station, type StationOptions } from './station.js';

// The stages' neighbours are stand-ins here: the real encoders and S3 are proven in the cli/*.it tests.
const format = { sampleRate: 10, channels: 1, bitsPerSample: 16 } as const;

function source(live: boolean, blocks: number): PcmSource {
  return {
    format, live, description: 'test', stop: () => undefined,
    async *blocks() {
      for (let i = 0; i < blocks; i++) yield new Int32Array(10).fill(i); // one 1 s segment a block
    },
  };
}

const encoder = (stream: 'hq' | 'lq'): SegmentEncoder => ({
  stream,
  encode: async (s: Segment): Promise<EncodedSegment> => ({ stream, seq: s.seq, samples: s.frames, bytes: Buffer.from([s.samples[0]!]), init: Buffer.alloc(0) }),
});

/** A publisher that stays down until `up()`, recording what it stored. */
function publisher() {
  const stored: SegmentMeta[] = [];
  let release: () => void = () => undefined;
  let isUp = false;
  const upNow = new Promise<void>((resolve) => (release = resolve));
  return {
    stored,
    up: () => ((isUp = true), release()),
    async publish(meta: SegmentMeta) {
      if (!isUp) throw new Error('store is down');
      stored.push(meta);
    },
    finish: async () => undefined,
    upNow,
  };
}

function station(live: boolean, blocks: number, store: ReturnType<typeof publisher>, more: Partial<StationOptions> = {}) {
  return new Station({
    source: source(live, blocks), segmentSeconds: 1, encoders: [encoder('hq'), encoder('lq')], postRollFrames: 0,
    publisher: store, firstSeq: 0, log: memoryLogger().log, uploadQueueSegments: 2, retryDelayMs: 1,
    // The retry wait ends when the store comes back or the wait is aborted, as the real one does.
    sleep: (_ms, signal) => new Promise<void>((resolve) => (signal.addEventListener('abort', () => resolve()), void store.upNow.then(resolve))),
    ...more,
  });
}

/** A live source that delivers `blocks` one-second blocks and then nothing, never ending (a hung device). */
function hangingSource(blocks: number): PcmSource & { stopped: boolean } {
  const hanging: PcmSource & { stopped: boolean } = {
    ...source(true, 0), stopped: false, stop: () => void (hanging.stopped = true),
    async *blocks() {
      for (let i = 0; i < blocks; i++) yield new Int32Array(10).fill(i);
      yield new Int32Array(5); // half a segment
      await new Promise(() => undefined);
    },
  };
  return hanging;
}

describe(Station.name, () => {
  it('a source that delivers nothing for captureStallMs is stopped; what it delivered is published and the summary says so', async () => {
    const store = publisher();
    store.up();
    const hanging = hangingSource(2);
    const s = station(true, 0, store, { source: hanging, captureStallMs: 100 });
    const summary = await s.run();
    expect(summary).toMatchObject({ published: 3, dropped: 0, signedOff: true, captureStalled: true });
    expect(store.stored.map((m) => [m.seq, m.samples])).toEqual([[0, 10], [1, 10], [2, 5]]);
    expect(hanging.stopped).toBe(true);
  });

  it('stop() ends a stalled capture too, without calling it a stall', async () => {
    const store = publisher();
    store.up();
    const s = station(true, 0, store, { source: hangingSource(1), captureStallMs: 100 });
    const run = s.run();
    s.stop();
    expect(await run).toMatchObject({ published: 2, signedOff: true, captureStalled: false });
  });

  it('a live source drops the oldest unsent segments while the store is down, and keeps the newest', async () => {
    const store = publisher();
    const run = station(true, 6, store).run();
    setTimeout(store.up, 50);
    const summary = await run;
    expect(summary.dropped).toBeGreaterThan(0);
    expect(store.stored.map((m) => m.seq).at(-1)).toBe(5);
  });

  it('a source that can wait loses nothing: capture is held back until the store answers', async () => {
    const store = publisher();
    const run = station(false, 6, store).run();
    setTimeout(store.up, 50);
    const summary = await run;
    expect(summary).toMatchObject({ published: 6, dropped: 0 });
    expect(store.stored.map((m) => m.seq)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('after the shutdown deadline gives up on unsent segments without hanging a waiting source', async () => {
    const store = publisher();
    const s = station(false, 8, store);
    const run = s.run();
    setTimeout(() => s.abandonUploads(), 20);
    const summary = await run;
    expect(summary.published).toBe(0);
    expect(summary.dropped).toBe(8);
  });

  /** A publisher that fails its first `failures` publishes with `error`, then stores. */
  function failingPublisher(failures: number, error: () => unknown) {
    const stored: number[] = [];
    let calls = 0;
    return {
      stored,
      async publish(meta: SegmentMeta) {
        if (calls++ < failures) throw error();
        stored.push(meta.seq);
      },
      finish: async () => undefined,
    };
  }

  const accessDenied = () => new StorageError('PUT', 'hq/0000000000.m4s', classifyS3Error({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));

  it('the retry wait leaves no abort listener behind: 20 failed publishes, no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const store = failingPublisher(20, accessDenied);
      // The real retry sleep (no `sleep` option), 1 ms a retry.
      const summary = await station(false, 1, publisher(), { publisher: store, sleep: undefined }).run();
      expect(summary.published).toBe(1);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });

  it('logs a steady storage failure once, without a stack, and the count of the rest when it goes off air', async () => {
    const { log, lines } = memoryLogger();
    const store = failingPublisher(20, accessDenied);
    await station(false, 1, publisher(), { publisher: store, log, sleep: async () => undefined, now: () => new Date(0) }).run();
    const failures = lines.filter((l) => l.level === LEVEL.error);
    expect(failures.map((l) => [l.msg, l.code, l.repeated])).toEqual([
      [`publishing segment 0 failed: ${accessDenied().message}; trying again in 0.001 s`, 'AccessDenied', undefined],
      [`19 more since the last line like this; the last: publishing segment 0 failed: ${accessDenied().message}; trying again in 0.001 s`, 'AccessDenied', 19],
    ]);
    for (const line of failures) expect(line).not.toHaveProperty('err');
  });

  it('logs an unexpected publishing failure with its stack', async () => {
    const { log, lines } = memoryLogger();
    const store = failingPublisher(1, () => new TypeError('a bug'));
    await station(false, 1, publisher(), { publisher: store, log, sleep: async () => undefined }).run();
    const [failure] = lines.filter((l) => l.level === LEVEL.error);
    expect(failure).toMatchObject({ msg: 'publishing segment 0 failed; trying again in 0.001 s', err: { type: 'TypeError', message: 'a bug' } });
    expect((failure!.err as { stack: string }).stack).toContain('TypeError: a bug');
  });
});
