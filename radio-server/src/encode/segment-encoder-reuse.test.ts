import { describe, expect, it } from 'vitest';
import { Segmenter, type Segment } from '../segment/segmenter.js';
import { musicLike, noise } from '../testing/signals.js';
import { FlacSegmentEncoder } from './flac-segment-encoder.js';
import { OPUS_POST_ROLL, OPUS_PRE_ROLL, OpusSegmentEncoder } from './opus-segment-encoder.js';
import type { SegmentEncoder } from './segment-encoder.js';

const format = { sampleRate: 48000, channels: 2, bitsPerSample: 24 } as const;

/** A loud full segment, then a short quiet one: what a reused buffer would leak into shows. */
function segments(): Segment[] {
  const segmenter = new Segmenter({ format, segmentFrames: 48000, preRollFrames: OPUS_PRE_ROLL, postRollFrames: OPUS_POST_ROLL, firstSeq: 0 });
  const loud = noise(48000).samples;
  const quiet = musicLike(30000).samples.map((v) => v >> 6);
  return [...segmenter.push(loud), ...segmenter.push(quiet), ...segmenter.end()];
}

describe.each([
  ['FLAC', () => new FlacSegmentEncoder({ format, compressionLevel: 5 })],
  ['Opus', () => new OpusSegmentEncoder({ format, bitrate: 128000 })],
])('%s encoder reused from segment to segment (its buffers are kept)', (_name, make: () => SegmentEncoder) => {
  it('writes the same bytes as a fresh encoder, a shorter segment after a longer one included', async () => {
    const [full, short] = segments();
    expect(short!.frames).toBe(30000);
    const reused = make();
    await reused.encode(full!);
    const again = await reused.encode(short!);
    const fresh = await make().encode(short!);
    expect(again.bytes.equals(fresh.bytes)).toBe(true);
  });

  it('hands out bytes that later encodes do not overwrite', async () => {
    const [full, short] = segments();
    const encoder = make();
    const first = await encoder.encode(full!);
    const copy = Buffer.from(first.bytes);
    await encoder.encode(short!);
    expect(first.bytes.equals(copy)).toBe(true);
  });
});
