import type { SegmentEntry } from '@radio/protocol';
import type { SegmentBoundary } from './audio-scheduler.ts';

/** The segment to load next and how it joins the one before. */
export interface NextSegment {
  entry: SegmentEntry;
  boundary: SegmentBoundary;
}

/**
 * Where a listener joins: the second-newest segment, so one whole segment is queued behind the one
 * playing. The next segment appears within segmentSeconds and is seen within another half (the poll
 * interval), which that queued segment covers. Never before the newest discontinuity: older
 * segments belong to a run that has ended.
 */
export function joinIndex(segments: readonly SegmentEntry[]): number {
  const lastDiscontinuity = segments.findLastIndex((s) => s.discontinuity);
  return Math.max(0, segments.length - 2, lastDiscontinuity);
}

/**
 * The segment after `lastSeq` (the last one scheduled or given up on) among `segments`, or
 * undefined when the manifest lists nothing newer. A listener who fell out of the window rejoins
 * at the live edge; `skipped` says the previous segment could not be played, so this one starts a
 * new run.
 */
export function nextSegment(segments: readonly SegmentEntry[], lastSeq: number | undefined, skipped = false): NextSegment | undefined {
  if (lastSeq === undefined) {
    const entry = segments[joinIndex(segments)];
    return entry && { entry, boundary: 'start' };
  }
  const next = segments.findIndex((s) => s.seq > lastSeq);
  if (next === -1) return undefined;
  const missed = segments[next]!.seq !== lastSeq + 1;
  const entry = segments[missed && next === 0 ? joinIndex(segments) : next]!;
  if (entry.discontinuity) return { entry, boundary: 'discontinuity' };
  return { entry, boundary: missed || skipped ? 'gap' : 'continuous' };
}
