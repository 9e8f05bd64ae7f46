import { describe, expect, it } from 'vitest';
import { segmentKey, type SegmentEntry } from '@radio/protocol';
import { joinIndex, nextSegment } from './live-edge.ts';

function segments(seqs: number[], discontinuities: number[] = []): SegmentEntry[] {
  return seqs.map((seq) => ({ seq, uri: segmentKey('lq', seq), samples: 96000, startedAt: '2026-11-23T22:59:40.000Z', bytes: 1000, discontinuity: discontinuities.includes(seq) }));
}

const seqOf = (result: ReturnType<typeof nextSegment>) => result && `${result.entry.seq} ${result.boundary}`;

describe(joinIndex.name, () => {
  it('joins one segment behind the newest', () => {
    expect(joinIndex(segments([7, 8, 9]))).toBe(1);
    expect(joinIndex(segments([9]))).toBe(0);
  });
  it('never joins before the newest discontinuity', () => {
    expect(joinIndex(segments([7, 8, 20], [20]))).toBe(2);
  });
});

describe(nextSegment.name, () => {
  it('starts at the join point', () => {
    expect(seqOf(nextSegment(segments([7, 8, 9]), undefined))).toBe('8 start');
    expect(nextSegment([], undefined)).toBeUndefined();
  });
  it('continues with the following seq, and waits when there is none yet', () => {
    expect(seqOf(nextSegment(segments([7, 8, 9]), 8))).toBe('9 continuous');
    expect(nextSegment(segments([7, 8, 9]), 9)).toBeUndefined();
  });
  it('marks a discontinuity the station flagged', () => {
    expect(seqOf(nextSegment(segments([7, 8, 12], [12]), 8))).toBe('12 discontinuity');
  });
  it('rejoins at the live edge after falling out of the window, as a gap', () => {
    expect(seqOf(nextSegment(segments([20, 21, 22]), 8))).toBe('21 gap');
  });
  it('starts a new run after a segment that could not be played', () => {
    expect(seqOf(nextSegment(segments([7, 8, 9]), 8, true))).toBe('9 gap');
  });
});
