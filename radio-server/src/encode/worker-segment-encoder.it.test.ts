import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Segmenter, type Segment } from '../segment/segmenter.js';
import { ffmpegDecodeInt } from '../testing/reference-decoders.js';
import { musicLike, sameSamples, type Signal } from '../testing/signals.js';
import { useTempDirs } from '../testing/temp-dirs.js';
import { FlacTrackEncoder } from './flac-track-encoder.js';
import { OpusTrackEncoder } from './opus-track-encoder.js';
import { ENCODER_POST_ROLL, type EncodedSegment, type SegmentEncoder } from './segment-encoder.js';

// The worker thread loads opus-worker.js, which exists only once built: npm run build -w radio-server.
const { OpusWorkerEncoder } = (await import(new URL('../../dist/encode/worker-segment-encoder.js', import.meta.url).href)) as typeof import('./worker-segment-encoder.js');

const tempDir = useTempDirs('worker-segment-encoder-');
const format = { sampleRate: 48000, channels: 2, bitsPerSample: 24 } as const;
const SEGMENT = 96000;
const track = { format, segmentFrames: SEGMENT, runSeq: 1 };

/** Cuts `signal` as the station does, handing each segment to `each` and recycling it once `each` has settled. */
async function cut(signal: Signal, shared: boolean, each: (segment: Segment) => Promise<void>): Promise<void> {
  const segmenter = new Segmenter({ format, segmentFrames: SEGMENT, postRollFrames: ENCODER_POST_ROLL, firstSeq: 1, shared });
  const block = 4800 * 2;
  for (let at = 0; at < signal.samples.length; at += block) {
    for (const segment of segmenter.push(signal.samples.slice(at, at + block))) {
      await each(segment);
      segmenter.recycle(segment);
    }
  }
  for (const segment of segmenter.end()) await each(segment);
}

/** Each encoder's fragments of `signal`, cut into plain (unshared) segments and encoded one encoder after the other. */
async function reference(signal: Signal, encoders: SegmentEncoder[]): Promise<EncodedSegment[][]> {
  const out: EncodedSegment[][] = encoders.map(() => []);
  await cut(signal, false, async (segment) => {
    for (const [i, encoder] of encoders.entries()) out[i]!.push(await encoder.encode(segment));
  });
  return out;
}

describe(`${OpusWorkerEncoder.name} and FlacTrackEncoder on shared segments`, () => {
  it('encode the same SharedArrayBuffer segments at once, Opus on the worker first: bit for bit what each makes alone', async () => {
    const signal = musicLike(5 * 48000 + 1234);
    const [flacAlone, opusAlone] = await reference(signal, [new FlacTrackEncoder({ ...track, compressionLevel: 5 }), new OpusTrackEncoder({ ...track, bitrate: 128000 })]);
    const flac = new FlacTrackEncoder({ ...track, compressionLevel: 5 });
    const opus = new OpusWorkerEncoder({ ...track, bitrate: 128000 });
    const hq: EncodedSegment[] = [];
    const lq: EncodedSegment[] = [];
    let shared = 0;
    try {
      // As the station calls them: the worker's first, then libFLAC on this thread reads the same memory.
      await cut(signal, true, async (segment) => {
        if (segment.samples.buffer instanceof SharedArrayBuffer) shared++;
        const [l, h] = await Promise.all([opus.encode(segment), flac.encode(segment)]);
        // Nothing was detached: the segmenter can fill these samples again.
        expect(segment.samples.byteLength).toBe(segment.frames * 2 * 4);
        lq.push(l);
        hq.push(h);
      });
    } finally {
      await opus.close();
    }
    expect(shared).toBe(2); // the two full segments; the partial last one is a copy
    expect(hq.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(hq.map((e) => e.bytes)).toEqual(flacAlone!.map((e) => e.bytes));
    expect(lq.map((e) => e.bytes)).toEqual(opusAlone!.map((e) => e.bytes));
    expect(lq[0]!.init.equals(opusAlone![0]!.init)).toBe(true);
    // And libFLAC read the shared memory right: ffmpeg decodes the input bit for bit.
    const path = join(await tempDir(), 'hq.mp4');
    await writeFile(path, Buffer.concat([hq[0]!.init, ...hq.map((e) => e.bytes)]));
    expect(sameSamples(await ffmpegDecodeInt(path, 24), signal.samples)).toBe(true);
  });

  it('fails every waiting encode, and later ones, once closed', async () => {
    const opus = new OpusWorkerEncoder({ ...track, bitrate: 128000 });
    const segment: Segment = { seq: 1, startFrame: 0, frames: SEGMENT, samples: new Int32Array(SEGMENT * 2), postRoll: new Int32Array(0), discontinuity: true };
    const waiting = opus.encode(segment);
    await opus.close();
    await expect(waiting).rejects.toThrow('the Opus encoder was closed');
    await expect(opus.encode({ ...segment, seq: 2 })).rejects.toThrow('the Opus encoder was closed');
  });
});
