import { describe, expect, it } from 'vitest';
import { Segmenter } from './segmenter.js';

const format = { sampleRate: 48000, channels: 2, bitsPerSample: 24 } as const;

/** Frames numbered 0, 1, 2... (both channels carry the frame index), so positions are checkable. */
function ramp(from: number, frames: number): Int32Array {
  const out = new Int32Array(frames * 2);
  for (let f = 0; f < frames; f++) out.fill(from + f, f * 2, f * 2 + 2);
  return out;
}

function firstFrame(samples: Int32Array): number | undefined {
  return samples[0];
}

describe(Segmenter.name, () => {
  it('cuts by sample count whatever the block sizes: segment N holds frames [N*L, (N+1)*L)', () => {
    const segmenter = new Segmenter({ format, segmentFrames: 100, postRollFrames: 5, firstSeq: 7 });
    const segments = [];
    let at = 0;
    for (const size of [1, 33, 99, 100, 7, 250, 3]) {
      segments.push(...segmenter.push(ramp(at, size)));
      at += size;
    }
    segments.push(...segmenter.end());
    expect(at).toBe(493);
    expect(segments.map((s) => [s.seq, s.startFrame, s.frames])).toEqual([[7, 0, 100], [8, 100, 100], [9, 200, 100], [10, 300, 100], [11, 400, 93]]);
    for (const s of segments) {
      expect(Array.from(s.samples)).toEqual(Array.from(ramp(s.startFrame, s.frames)));
    }
    expect(segments.map((s) => s.postRoll.length / 2)).toEqual([5, 5, 5, 5, 0]);
    expect(firstFrame(segments[0]!.postRoll)).toBe(100);
    expect(segments.map((s) => s.discontinuity)).toEqual([true, false, false, false, false]);
  });

  it('fills buffers given back by recycle, and their segments still hold the right samples and rolls', () => {
    const segmenter = new Segmenter({ format, segmentFrames: 100, postRollFrames: 5, firstSeq: 0 });
    const segments = [];
    for (let at = 0; at < 1000; at += 50) {
      for (const segment of segmenter.push(ramp(at, 50))) {
        segments.push({ ...segment, samples: segment.samples.slice() });
        segmenter.recycle(segment); // encoded at once, as the station does
      }
    }
    expect(segments.map((s) => s.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const s of segments) {
      expect(Array.from(s.samples)).toEqual(Array.from(ramp(s.startFrame, 100)));
      expect(Array.from(s.postRoll)).toEqual(Array.from(ramp(s.startFrame + 100, 5)));
    }
  });

  it('reuses a recycled buffer instead of allocating, and ignores arrays it cannot reuse', () => {
    const segmenter = new Segmenter({ format, segmentFrames: 100, postRollFrames: 0, firstSeq: 0 });
    const [first] = segmenter.push(ramp(0, 100));
    segmenter.recycle({ ...first!, samples: new Int32Array(10) }); // not a segment's size: not kept
    segmenter.recycle(first!);
    segmenter.recycle(first!); // twice: still one segment's buffer, not two
    segmenter.push(ramp(100, 100)); // fills the buffer allocated at the first cut
    const [third] = segmenter.push(ramp(200, 100));
    expect(third!.samples).toBe(first!.samples);
    expect(Array.from(third!.samples)).toEqual(Array.from(ramp(200, 100)));
    const [fourth] = segmenter.push(ramp(300, 100));
    expect(fourth!.samples).not.toBe(third!.samples);
    expect(Array.from(third!.samples)).toEqual(Array.from(ramp(200, 100)));
  });

  it('shared: full segments, fresh and recycled, lie on SharedArrayBuffer and hold the same samples', () => {
    const plain = new Segmenter({ format, segmentFrames: 100, postRollFrames: 5, firstSeq: 0 });
    const shared = new Segmenter({ format, segmentFrames: 100, postRollFrames: 5, firstSeq: 0, shared: true });
    const cut = (segmenter: Segmenter) => {
      const segments = [];
      for (let at = 0; at < 450; at += 50) {
        for (const segment of segmenter.push(ramp(at, 50))) {
          segments.push({ ...segment, buffer: segment.samples.buffer, samples: segment.samples.slice() });
          segmenter.recycle(segment);
        }
      }
      return [...segments, ...segmenter.end().map((s) => ({ ...s, buffer: s.samples.buffer }))];
    };
    const ours = cut(shared);
    expect(ours.map((s) => [s.seq, s.frames, s.buffer instanceof SharedArrayBuffer])).toEqual([[0, 100, true], [1, 100, true], [2, 100, true], [3, 100, true], [4, 50, false]]);
    expect(plain.push(ramp(0, 105))[0]!.samples.buffer).toBeInstanceOf(ArrayBuffer);
    const theirs = cut(new Segmenter({ format, segmentFrames: 100, postRollFrames: 5, firstSeq: 0 }));
    expect(ours.map((s) => [Array.from(s.samples), Array.from(s.postRoll)])).toEqual(theirs.map((s) => [Array.from(s.samples), Array.from(s.postRoll)]));
  });

  it('releases a full segment only once its post-roll has arrived', () => {
    const segmenter = new Segmenter({ format, segmentFrames: 100, postRollFrames: 5, firstSeq: 0 });
    expect(segmenter.push(ramp(0, 104))).toEqual([]);
    expect(segmenter.push(ramp(104, 1)).map((s) => s.seq)).toEqual([0]);
  });

  it('at the end releases the held segment with the post-roll there is, then the partial one', () => {
    const segmenter = new Segmenter({ format, segmentFrames: 100, postRollFrames: 5, firstSeq: 0 });
    segmenter.push(ramp(0, 102));
    const rest = segmenter.end();
    expect(rest.map((s) => [s.seq, s.frames, s.postRoll.length / 2])).toEqual([[0, 100, 2], [1, 2, 0]]);
  });

  it('refuses a block that splits a frame', () => {
    const segmenter = new Segmenter({ format, segmentFrames: 100, postRollFrames: 0, firstSeq: 0 });
    expect(() => segmenter.push(new Int32Array(3))).toThrow('push: samples must hold whole frames');
  });
});
