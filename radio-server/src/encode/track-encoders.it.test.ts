import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Segmenter, type Segment } from '../segment/segmenter.js';
import { ffmpegDecodeFloat, ffmpegDecodeInt } from '../testing/reference-decoders.js';
import { musicLike, sameSamples, sweep, type Signal } from '../testing/signals.js';
import { useTempDirs } from '../testing/temp-dirs.js';
import { FlacTrackEncoder, flacBlockSize } from './flac-track-encoder.js';
import { OpusTrackEncoder } from './opus-track-encoder.js';
import { ENCODER_POST_ROLL, type EncodedSegment, type SegmentEncoder } from './segment-encoder.js';

const tempDir = useTempDirs('track-encoders-');
const RUN_SEQ = 177_000_000;

function segmentsOf(signal: Signal, segmentFrames: number, blockFrames = 4410): Segment[] {
  const format = { sampleRate: 48000, channels: signal.channels, bitsPerSample: signal.bits === 16 ? 16 : 24 } as const;
  const segmenter = new Segmenter({ format, segmentFrames, postRollFrames: ENCODER_POST_ROLL, firstSeq: RUN_SEQ });
  const out: Segment[] = [];
  const copy = (s: Segment) => ({ ...s, samples: s.samples.slice(), postRoll: s.postRoll.slice() });
  for (let at = 0; at < signal.samples.length; at += blockFrames * signal.channels) {
    for (const s of segmenter.push(signal.samples.subarray(at, at + blockFrames * signal.channels))) out.push(copy(s));
  }
  for (const s of segmenter.end()) out.push(copy(s));
  return out;
}

async function encodeAll(encoder: SegmentEncoder, segments: Segment[]): Promise<EncodedSegment[]> {
  const out: EncodedSegment[] = [];
  for (const s of segments) out.push(await encoder.encode(s));
  return out;
}

async function writeTrack(dir: string, name: string, encoded: EncodedSegment[]): Promise<string> {
  const path = join(dir, `${name}.mp4`);
  await writeFile(path, Buffer.concat([encoded[0]!.init, ...encoded.map((e) => e.bytes)]));
  return path;
}

/**
 * The lag (in frames, -600..600) at which `decoded` (floats, interleaved) best matches the signal's left
 * channel from frame `from`, over `frames` frames: 0 when the decoder presents exactly those samples.
 */
function bestLag(signal: Signal, decoded: Float32Array, from: number, frames: number): number {
  const scale = 2 ** (signal.bits - 1);
  const ch = signal.channels;
  let best = { lag: NaN, score: -Infinity };
  for (let lag = -600; lag <= 600; lag++) {
    let score = 0;
    for (let f = 2000; f < frames; f++) {
      const d = decoded[(f + lag) * ch];
      if (d !== undefined) score += d * (signal.samples[(from + f) * ch]! / scale);
    }
    if (score > best.score) best = { lag, score };
  }
  return best.lag;
}

/** The fragment's baseMediaDecodeTime (tfdt version 1, right after styp and the moof's mfhd/traf/tfhd). */
function tfdt(fragment: Buffer): number {
  const at = fragment.indexOf('tfdt', 0, 'latin1');
  return Number(fragment.readBigUInt64BE(at + 8));
}

describe(flacBlockSize.name, () => {
  it('divides the segment, close to 4096', () => {
    expect(flacBlockSize(480000)).toBe(4000);
    expect(flacBlockSize(96000)).toBe(4000);
    expect(flacBlockSize(24000)).toBe(4000);
    expect(flacBlockSize(960 * 7)).toBe(3360);
  });
});

describe('continuous track encoders judged by ffmpeg', () => {
  it('HQ: init + fragments decode bit for bit, a partial last segment included', async () => {
    const dir = await tempDir();
    const signal = sweep(48000 * 5 + 1234);
    const segments = segmentsOf(signal, 96000);
    const encoded = await encodeAll(new FlacTrackEncoder({ format: { sampleRate: 48000, channels: 2, bitsPerSample: 24 }, compressionLevel: 5, segmentFrames: 96000, runSeq: RUN_SEQ }), segments);
    expect(encoded.map((e) => e.samples)).toEqual([96000, 96000, 48000 + 1234]);
    const decoded = await ffmpegDecodeInt(await writeTrack(dir, 'hq', encoded), 24);
    expect(decoded.length).toBe(signal.samples.length);
    expect(sameSamples(decoded, signal.samples)).toBe(true);
  });

  it('LQ: init + fragments decode to exactly the captured length, aligned with the input', async () => {
    const dir = await tempDir();
    const signal = musicLike(48000 * 6);
    const segments = segmentsOf(signal, 96000);
    const encoded = await encodeAll(new OpusTrackEncoder({ format: { sampleRate: 48000, channels: 2, bitsPerSample: 24 }, bitrate: 128000, segmentFrames: 96000, runSeq: RUN_SEQ }), segments);
    const decoded = await ffmpegDecodeFloat(await writeTrack(dir, 'lq', encoded));
    expect(decoded.length).toBe(signal.samples.length);
    // Segment by segment: seq s of the run presents input frames [s*L, (s+1)*L).
    for (let s = 0; s < 3; s++) expect(bestLag(signal, decoded.subarray(s * 96000 * 2), s * 96000, 24000)).toBe(0);
    expect(encoded.map((e) => tfdt(e.bytes))).toEqual([RUN_SEQ * 96000 - 960, (RUN_SEQ + 1) * 96000, (RUN_SEQ + 2) * 96000]);
  });

  it('HQ and LQ fragments of the same seq present the same input samples (a listener joining mid-run)', async () => {
    const dir = await tempDir();
    const signal = musicLike(48000 * 6);
    const format = { sampleRate: 48000, channels: 2, bitsPerSample: 24 } as const;
    const segments = segmentsOf(signal, 96000);
    const hq = await encodeAll(new FlacTrackEncoder({ format, compressionLevel: 5, segmentFrames: 96000, runSeq: RUN_SEQ }), segments);
    const lq = await encodeAll(new OpusTrackEncoder({ format, bitrate: 128000, segmentFrames: 96000, runSeq: RUN_SEQ }), segments);
    const joinAt = 1;
    const hqDecoded = await ffmpegDecodeInt(await writeTrack(dir, 'hq-join', [{ ...hq[0]!, bytes: Buffer.alloc(0) }, ...hq.slice(joinAt)]), 24);
    const lqDecoded = await ffmpegDecodeFloat(await writeTrack(dir, 'lq-join', [{ ...lq[0]!, bytes: Buffer.alloc(0) }, ...lq.slice(joinAt)]));
    expect(hq.map((e) => tfdt(e.bytes))).toEqual([0, 1, 2].map((s) => (RUN_SEQ + s) * 96000));
    expect(hqDecoded.length).toBe(signal.samples.length - joinAt * 96000 * 2);
    expect(sameSamples(hqDecoded, signal.samples.subarray(joinAt * 96000 * 2))).toBe(true);
    // ffmpeg discards dOps' pre-skip (20 ms) wherever it starts decoding; what follows is aligned.
    expect(lqDecoded.length).toBe(hqDecoded.length - 960 * 2);
    expect(bestLag(signal, lqDecoded, joinAt * 96000 + 960, 48000)).toBe(0);
  });
});
