import type { Manifest, SegmentEntry } from '@radio/protocol';

/**
 * The media timeline of protocol v2 and where a listener joins it. A segment's fragment has
 * `tfdt = seq * segmentFrames` on a timescale of the sample rate, in both streams, so segment `seq`
 * occupies [seq * segmentSeconds, + samples / sampleRate) of the media element's timeline.
 */

/** How a segment relates to the one appended before it. */
export type SegmentBoundary = 'start' | 'continuous' | 'gap' | 'discontinuity';

/** The segment to load next and how it joins the one before. */
export interface NextSegment {
  entry: SegmentEntry;
  boundary: SegmentBoundary;
}

/** A span of the media timeline, in seconds. */
export interface MediaSpan {
  start: number;
  end: number;
}

type Timing = Pick<Manifest, 'segmentSeconds' | 'sampleRate'>;

/**
 * Where segment `entry` lies on the timeline: exactly its samples, which is also the append window
 * that keeps anything else out of the buffer (the LQ priming packet before a run's first sample).
 * Counted in whole frames and divided once, so that seqs near 1e9 stay exact to the sample.
 */
export function segmentSpan(entry: Pick<SegmentEntry, 'seq' | 'samples'>, { segmentSeconds, sampleRate }: Timing): MediaSpan {
  const firstFrame = entry.seq * Math.round(segmentSeconds * sampleRate);
  return { start: firstFrame / sampleRate, end: (firstFrame + entry.samples) / sampleRate };
}

/** The end of the newest segment published: the live edge of the media timeline, or undefined when none is listed. */
export function liveEdge(manifest: Manifest): number | undefined {
  const newest = manifest.streams.lq.segments.at(-1);
  return newest && segmentSpan(newest, manifest).end;
}

/**
 * Where a listener joins: the position `wanted` (the live edge less the latency the player aims at),
 * in the segment holding it, but never before the newest discontinuity (older segments belong to a
 * run that has ended) nor before the oldest segment listed, nor after the newest.
 */
export function joinPoint(manifest: Manifest, wanted: number): { index: number; position: number } | undefined {
  const segments = manifest.streams.lq.segments;
  if (segments.length === 0) return undefined;
  const floor = Math.max(0, segments.findLastIndex((s) => s.discontinuity));
  let index = segments.findLastIndex((s) => segmentSpan(s, manifest).start <= wanted);
  index = Math.max(index, floor);
  const span = segmentSpan(segments[index]!, manifest);
  return { index, position: Math.min(Math.max(wanted, span.start), span.end) };
}

/**
 * The segment after `lastSeq` (the last one appended or given up on) in `segments`, or undefined
 * when the manifest lists nothing newer. Without `lastSeq` the listener joins at `joinIndex`; one who
 * fell out of the window rejoins there too, as a gap; `skipped` says the previous segment could not
 * be played, so this one does not continue it.
 */
export function nextSegment(segments: readonly SegmentEntry[], lastSeq: number | undefined, joinIndex: number, skipped = false): NextSegment | undefined {
  if (lastSeq === undefined) {
    const entry = segments[joinIndex];
    return entry && { entry, boundary: 'start' };
  }
  const next = segments.findIndex((s) => s.seq > lastSeq);
  if (next === -1) return undefined;
  const missed = segments[next]!.seq !== lastSeq + 1;
  const entry = segments[missed && next === 0 ? Math.max(joinIndex, 0) : next]!;
  if (entry.discontinuity) return { entry, boundary: 'discontinuity' };
  return { entry, boundary: missed || skipped ? 'gap' : 'continuous' };
}

/** Ranges of a TimeRanges, as plain spans. */
export function spans(ranges: TimeRanges): MediaSpan[] {
  return Array.from({ length: ranges.length }, (_, i) => ({ start: ranges.start(i), end: ranges.end(i) }));
}

/**
 * Where to jump when playback stalls at `position`: the start of the next buffered range after it (a
 * gap left by dropped segments, a new run later on the timeline, a skipped segment), or undefined
 * when the range holding it still has more than `nearEnd` seconds to play, or nothing follows yet.
 * (Chromium stalls a few tens of ms before the end of a range that has a gap after it.)
 */
export function positionAfterGap(buffered: readonly MediaSpan[], position: number, nearEnd = 0.25): number | undefined {
  const inside = buffered.find((r) => r.start <= position && position < r.end - nearEnd);
  if (inside) return undefined;
  return buffered.find((r) => r.start > position)?.start;
}

/** Seconds buffered ahead of `position` without a gap. */
export function bufferedAhead(buffered: readonly MediaSpan[], position: number, slack = 0.001): number {
  const inside = buffered.find((r) => r.start - slack <= position && position <= r.end + slack);
  return inside ? Math.max(0, inside.end - position) : 0;
}
