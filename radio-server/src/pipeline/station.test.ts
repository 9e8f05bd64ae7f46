import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { PcmSource } from '../capture/pcm-source.js';
import type { EncodedSegment, SegmentEncoder } from '../encode/segment-encoder.js';
import { LEVEL, memoryLogger } from '../publish/testing/memory-log.js';
import { StorageError, classifyS3Error } from '../publish/s3-errors.js';
import type { Segment } from '../segment/segmenter.js';
import { ClassifiedError } from '../shared/classified-error.js';
import type { SegmentMeta } from '../shared/segment-meta.js';
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
    connect: async (floor: number) => floor,
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
    source: source(live, blocks), segmentSeconds: 1, encoders: () => [encoder('hq'), encoder('lq')], postRollFrames: 0,
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

  it('the stall watch holds no block it has passed on: memory stays flat however long capture runs', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const delivered: WeakRef<Int32Array>[] = [];
    let stillHeld = -1;
    const counted: PcmSource = {
      ...source(true, 0),
      async *blocks() {
        for (let i = 0; i < 200; i++) {
          const block = new Int32Array(10).fill(i);
          delivered.push(new WeakRef(block));
          yield block;
        }
        await new Promise((resolve) => setImmediate(resolve)); // WeakRefs hold their targets until the task ends
        gc();
        stillHeld = delivered.filter((ref) => ref.deref()).length;
      },
    };
    const store = publisher();
    store.up();
    await station(true, 0, store, { source: counted, captureStallMs: 60_000 }).run();
    expect(stillHeld).toBeGreaterThanOrEqual(0);
    expect(stillHeld).toBeLessThan(10);
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

  it('a source held back (the store down) longer than captureStallMs has not stalled: it waited for room, not the source for audio', async () => {
    const store = publisher();
    // 12 segments: more than the queues hold, so capture waits for room.
    const run = station(false, 12, store, { captureStallMs: 30 }).run();
    setTimeout(store.up, 200);
    expect(await run).toMatchObject({ published: 12, dropped: 0, captureStalled: false });
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
      connect: async (floor: number) => floor,
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

  /** A source that can wait, with `blocks` one-second blocks, that ends early when stopped. */
  function stoppableSource(blocks: number): PcmSource & { stopped: boolean; delivered: number } {
    const s: PcmSource & { stopped: boolean; delivered: number } = {
      ...source(false, 0), stopped: false, delivered: 0, stop: () => void (s.stopped = true),
      async *blocks() {
        for (let i = 0; i < blocks && !s.stopped; i++, s.delivered++) yield new Int32Array(10).fill(i);
      },
    };
    return s;
  }

  const diskFull = () => new ClassifiedError('cannot write hq/0000000002.m4s: the disk is full', 'ENOSPC', { fatal: true });

  it('a fatal publish failure is not retried: capture stops, there is no sign-off, and run rejects with it, logging nothing', async () => {
    const { log, lines } = memoryLogger();
    const stored: number[] = [];
    let attempts = 0;
    let finished = false;
    const store = {
      connect: async (floor: number) => floor,
      async publish(meta: SegmentMeta) {
        attempts++;
        if (meta.seq === 2) throw diskFull();
        stored.push(meta.seq);
      },
      finish: async () => void (finished = true),
    };
    const input = stoppableSource(1000);
    await expect(station(false, 0, publisher(), { publisher: store, source: input, log, sleep: async () => undefined }).run()).rejects.toThrow(diskFull());
    expect(stored).toEqual([0, 1]);
    expect(attempts).toBe(3);
    expect(input.stopped).toBe(true);
    expect(input.delivered).toBeLessThan(20); // the queues' worth, not the whole source
    expect(finished).toBe(false);
    expect(lines.filter((l) => l.level >= LEVEL.warn)).toEqual([]);
  });

  it('a fatal connect failure is not retried either', async () => {
    let connects = 0;
    let finished = false;
    const store = {
      connect: async () => (connects++, Promise.reject(diskFull())),
      publish: async () => undefined,
      finish: async () => void (finished = true),
    };
    const input = stoppableSource(1000);
    await expect(station(false, 0, publisher(), { publisher: store, source: input, sleep: async () => undefined }).run()).rejects.toThrow(diskFull());
    expect(connects).toBe(1);
    expect(input.stopped).toBe(true);
    expect(finished).toBe(false);
  });

  it('a fatal failure of the sign-off is what run rejects with, unlogged', async () => {
    const { log, lines } = memoryLogger();
    const store = { ...failingPublisher(0, () => undefined), finish: () => Promise.reject(diskFull()) };
    await expect(station(false, 2, publisher(), { publisher: store, log }).run()).rejects.toThrow(diskFull());
    expect(store.stored).toEqual([0, 1]);
    expect(lines.filter((l) => l.level >= LEVEL.warn)).toEqual([]);
  });

  it('sharedSegments: the encoders get segments on SharedArrayBuffer', async () => {
    const buffers: unknown[] = [];
    const hq = { ...encoder('hq'), encode: async (s: Segment) => (buffers.push(s.samples.buffer), encoder('hq').encode(s)) };
    const summary = await station(false, 3, publisher(), { publisher: failingPublisher(0, () => undefined), encoders: () => [hq, encoder('lq')], sharedSegments: true }).run();
    expect(summary).toMatchObject({ published: 3, dropped: 0 });
    expect(buffers.map((b) => b instanceof SharedArrayBuffer)).toEqual([true, true, true]);
  });

  /** Encoders that record which run they were made for and what they encoded, in order. */
  function recordingEncoders() {
    const runs: number[] = [];
    const encodedSeqs: number[] = [];
    const encoders = (runSeq: number) => {
      runs.push(runSeq);
      return [encoder('hq'), { ...encoder('lq'), encode: async (s: Segment) => (encodedSeqs.push(s.seq), encoder('lq').encode(s)) }];
    };
    return { runs, encodedSeqs, encoders };
  }

  it('captures and encodes while the store cannot be reached, and goes on air once it answers', async () => {
    const { log, lines } = memoryLogger();
    let refusals = 0;
    const stored: number[] = [];
    const store = {
      async connect(floor: number) {
        if (refusals++ < 3) throw new StorageError('GET', 'manifest.json', classifyS3Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
        return floor;
      },
      publish: async (meta: SegmentMeta) => void stored.push(meta.seq),
      finish: async () => undefined,
    };
    const captured: number[] = [];
    const s = station(false, 4, publisher(), { publisher: store, firstSeq: 100, log, sleep: async () => undefined, hooks: { captured: (b) => void captured.push(b[0]!) } });
    const summary = await s.run();
    expect(captured).toEqual([0, 1, 2, 3]);
    expect(summary).toMatchObject({ published: 4, dropped: 0, signedOff: true, wentOnAir: true });
    expect(stored).toEqual([100, 101, 102, 103]);
    const connectErrors = lines.filter((l) => l.level === LEVEL.error);
    // Rate-limited: the first of the three refusals in full, the count of the others when it goes off air.
    expect(connectErrors.map((l) => l.repeated)).toEqual([undefined, 2]);
    expect(connectErrors[0]!.msg).toMatch(/^GET manifest.json failed: ECONNREFUSED: .*: not on air yet; trying again in 0.001 s \(capture and the archive go on\)$/);
  });

  it('when the bucket holds later seqs, encodes the unpublished segments again past them, in order, as a new run', async () => {
    const { runs, encodedSeqs, encoders } = recordingEncoders();
    const stored: SegmentMeta[] = [];
    let release!: () => void;
    const bucketAnswers = new Promise<void>((resolve) => (release = resolve));
    const store = {
      // The bucket's last seq is 149: the run (from 100) must start at 150 or later.
      connect: async (floor: number) => (await bucketAnswers, Math.max(floor, 150)),
      publish: async (meta: SegmentMeta) => void stored.push(meta),
      finish: async () => undefined,
    };
    const s = station(false, 5, publisher(), { publisher: store, firstSeq: 100, encoders, uploadQueueSegments: 3 });
    const run = s.run();
    await new Promise((resolve) => setTimeout(resolve, 20)); // let the first segments be encoded under the clock's seqs
    expect(encodedSeqs.length).toBeGreaterThanOrEqual(3);
    release();
    const summary = await run;
    expect(summary).toMatchObject({ published: 5, dropped: 0 });
    expect(stored.map((m) => m.seq)).toEqual([150, 151, 152, 153, 154]);
    expect(stored.map((m) => m.run)).toEqual([150, 150, 150, 150, 150]);
    expect(stored[0]!.discontinuity).toBe(true);
    expect(runs).toEqual([100, 150]);
    // The new run's encoders saw each segment once, in order, under its new seq.
    expect(encodedSeqs.filter((seq) => seq >= 150)).toEqual([150, 151, 152, 153, 154]);
  });

  it('never drops or double-counts the segment being published, however full the queue gets', async () => {
    const stored: number[] = [];
    let attempts = 0;
    const store = {
      connect: async (floor: number) => floor,
      // Every publish fails a few times slowly while the source keeps filling the queue.
      async publish(meta: SegmentMeta) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (attempts++ % 4 !== 3) throw new Error('slow store');
        stored.push(meta.seq);
      },
      finish: async () => undefined,
    };
    const { log, lines } = memoryLogger();
    const summary = await station(true, 30, publisher(), { publisher: store, log, uploadQueueSegments: 1, sleep: async () => undefined }).run();
    const dropped = lines.filter((l) => /dropped segment/.test(l.msg)).map((l) => l.seq as number);
    expect(summary.published).toBe(stored.length);
    expect(summary.dropped).toBe(dropped.length);
    expect(summary.published + summary.dropped).toBe(30);
    expect(new Set([...stored, ...dropped]).size).toBe(30);
    expect(stored.filter((seq) => dropped.includes(seq))).toEqual([]);
  });

  it('the shutdown signal ends a publish in flight and the retry waits at once, and the sign-off is still tried', async () => {
    const shutdown = new AbortController();
    let finished = false;
    const store = {
      connect: async (floor: number) => floor,
      // A black hole: nothing answers until the signal ends the request.
      publish: (_meta: SegmentMeta, _encoded: unknown, signal: AbortSignal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      finish: async () => void (finished = true),
    };
    const s = station(true, 3, publisher(), { publisher: store, signal: shutdown.signal, sleep: undefined, retryDelayMs: 60_000 });
    const run = s.run();
    setTimeout(() => shutdown.abort(), 20);
    const summary = await run;
    expect(summary).toMatchObject({ published: 0, dropped: 3, signedOff: true });
    expect(finished).toBe(true);
  });

  it('stopped before the store ever answered, it ends after the attempt in flight instead of waiting to try again', async () => {
    const log = memoryLogger();
    let connects = 0;
    const store = {
      async connect(): Promise<number> {
        connects++;
        throw new StorageError('GET', 'manifest.json', classifyS3Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
      },
      publish: async () => undefined,
      finish: async () => undefined,
    };
    // The real retry wait, a minute long: only the stop can end it.
    const s = station(true, 3, publisher(), { publisher: store, log: log.log, sleep: undefined, retryDelayMs: 60_000, connectRetryMaxMs: 60_000, hooks: { connectFailed: () => s.stop() } });
    const summary = await s.run();
    expect(connects).toBe(1);
    expect(summary).toMatchObject({ published: 0, dropped: 3, signedOff: false, wentOnAir: false });
    expect(log.lines.filter((l) => l.level === LEVEL.warn).map((l) => l.msg)).toContain('stopped before the store ever answered: 3 segments were not published');
  });

  it('stops publishing when another daemon takes over, keeps capturing, and goes on air again as a new run', async () => {
    const { runs, encoders } = recordingEncoders();
    const stored: number[] = [];
    let taken = false;
    let connects = 0;
    const store = {
      async connect(floor: number) {
        connects++;
        if (taken && connects < 4) throw new ClassifiedError('another radio-server is on air', 'AnotherDaemonLive');
        return taken ? floor + 10 : floor; // the other daemon published 10 segments meanwhile
      },
      async publish(meta: SegmentMeta) {
        if (meta.seq === 2 && !taken) {
          taken = true;
          throw new ClassifiedError('another radio-server took over', 'AnotherDaemonLive', { offAir: true });
        }
        stored.push(meta.seq);
      },
      finish: async () => undefined,
    };
    const offAir: unknown[] = [];
    const summary = await station(false, 6, publisher(), { publisher: store, encoders, sleep: async () => undefined, hooks: { offAir: (e) => void offAir.push(e) } }).run();
    expect(offAir).toHaveLength(1);
    expect(stored.slice(0, 2)).toEqual([0, 1]);
    // Back on air past the other daemon's seqs: a new run, whatever could not be encoded again is dropped.
    expect(stored.slice(2).every((seq) => seq >= 12)).toBe(true);
    expect(runs[0]).toBe(0);
    expect(runs.at(-1)).toBeGreaterThanOrEqual(12);
    expect(summary.published + summary.dropped).toBe(6);
  });
});
