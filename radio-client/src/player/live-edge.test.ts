import { describe, expect, it } from 'vitest';
import { initKey, segmentKey, type Manifest, type SegmentEntry } from '@radio/protocol';
import { bufferedAhead, joinPoint, liveEdge, nextSegment, positionAfterGap, segmentSpan } from './live-edge.ts';

const SEGMENT_SECONDS = 2;
const RATE = 48000;

function segments(seqs: number[], discontinuities: number[] = [], samples = SEGMENT_SECONDS * RATE): SegmentEntry[] {
  return seqs.map((seq, i) => ({
    seq, msn: 100 + i, uri: segmentKey('lq', seq), init: initKey('lq', 1), samples,
    startedAt: '2026-11-23T22:59:40.000Z', bytes: 1000, discontinuity: discontinuities.includes(seq),
  }));
}

function manifest(list: SegmentEntry[]): Manifest {
  return { segmentSeconds: SEGMENT_SECONDS, sampleRate: RATE, streams: { lq: { segments: list } } } as unknown as Manifest;
}

const seqOf = (result: ReturnType<typeof nextSegment>) => result && `${result.entry.seq} ${result.boundary}`;

describe(segmentSpan.name, () => {
  it('is seq * segmentSeconds on, for exactly the segment samples', () => {
    expect(segmentSpan({ seq: 7, samples: 96000 }, manifest([]))).toEqual({ start: 14, end: 16 });
    expect(segmentSpan({ seq: 7, samples: 48001 }, manifest([]))).toEqual({ start: 14, end: 14 + 48001 / RATE });
  });
  it('stays exact for the seqs of a station counting segments since 1970', () => {
    const seq = 900_000_001;
    const { start, end } = segmentSpan({ seq, samples: 96000 }, manifest([]));
    expect(start).toBe(1_800_000_002);
    expect(end).toBe(1_800_000_004);
    // 10 s segments at 48 kHz: the frame count, not a float product, decides.
    expect(segmentSpan({ seq: 178_000_003, samples: 480000 }, { segmentSeconds: 10, sampleRate: RATE }).start).toBe(1_780_000_030);
  });
});

describe(joinPoint.name, () => {
  it('joins at the wanted position, inside the segment holding it', () => {
    const m = manifest(segments([7, 8, 9]));
    expect(liveEdge(m)).toBe(20);
    expect(joinPoint(m, 16)).toEqual({ index: 1, position: 16 });
    expect(joinPoint(m, 17.25)).toEqual({ index: 1, position: 17.25 });
  });
  it('never joins before the newest discontinuity, nor before the oldest segment, nor past the newest', () => {
    expect(joinPoint(manifest(segments([7, 8, 20], [20])), 36)).toEqual({ index: 2, position: 40 });
    expect(joinPoint(manifest(segments([9])), 14)).toEqual({ index: 0, position: 18 });
    expect(joinPoint(manifest(segments([7, 8, 9])), 25)).toEqual({ index: 2, position: 20 });
    expect(joinPoint(manifest([]), 4)).toBeUndefined();
  });
});

describe(nextSegment.name, () => {
  it('starts at the join index', () => {
    expect(seqOf(nextSegment(segments([7, 8, 9]), undefined, 1))).toBe('8 start');
    expect(nextSegment([], undefined, 0)).toBeUndefined();
  });
  it('continues with the following seq, and waits when there is none yet', () => {
    expect(seqOf(nextSegment(segments([7, 8, 9]), 8, 1))).toBe('9 continuous');
    expect(nextSegment(segments([7, 8, 9]), 9, 1)).toBeUndefined();
  });
  it('marks a discontinuity the station flagged', () => {
    expect(seqOf(nextSegment(segments([7, 8, 12], [12]), 8, 2))).toBe('12 discontinuity');
  });
  it('rejoins at the join index after falling out of the window, as a gap', () => {
    expect(seqOf(nextSegment(segments([20, 21, 22]), 8, 1))).toBe('21 gap');
  });
  it('does not continue a segment that could not be played', () => {
    expect(seqOf(nextSegment(segments([7, 8, 9]), 8, 1, true))).toBe('9 gap');
  });
});

describe(positionAfterGap.name, () => {
  const buffered = [{ start: 10, end: 14 }, { start: 16, end: 20 }];
  it('jumps from the end of a range (or from outside every range) to the start of the next one', () => {
    expect(positionAfterGap(buffered, 14)).toBe(16);
    expect(positionAfterGap(buffered, 13.961)).toBe(16);
    expect(positionAfterGap(buffered, 0)).toBe(10);
    expect(positionAfterGap(buffered, 15)).toBe(16);
  });
  it('stays inside a range with more to play, and where nothing follows', () => {
    expect(positionAfterGap(buffered, 12)).toBeUndefined();
    expect(positionAfterGap(buffered, 13.7)).toBeUndefined();
    expect(positionAfterGap(buffered, 19.99)).toBeUndefined();
  });
});

describe(bufferedAhead.name, () => {
  it('is what remains of the range holding the position', () => {
    const buffered = [{ start: 10, end: 14 }, { start: 16, end: 20 }];
    expect(bufferedAhead(buffered, 11)).toBe(3);
    expect(bufferedAhead(buffered, 15)).toBe(0);
  });
});
