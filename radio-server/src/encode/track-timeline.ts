import type { PcmSamples } from '../segment/pcm.js';
import type { Segment } from '../segment/segmenter.js';

/** What a continuous encoder is to be fed for one segment. */
export interface Feed {
  /** Start a new codec stream first: the run's start, or a gap (segments dropped before encoding). */
  restart: boolean;
  /** Interleaved captured samples not fed before, in order: the rest of the segment, then the lookahead. */
  pieces: PcmSamples[];
  /** Frames of silence after them: the signal ends within the lookahead of the segment's end. */
  silence: number;
  /** The signal ends with this segment: flush the codec, the next segment restarts it. */
  ends: boolean;
}

/** Tracks how far a continuous encoder has been fed, so each segment's own samples and lookahead go in once. */
export interface TrackTimeline {
  next(segment: Segment): Feed;
}

/**
 * Plans the feeding of an encoder that must see `lookahead` frames past a segment's end before it has
 * emitted all of that segment (libFLAC's one-sample overread, libopus's 312-sample delay). Those frames
 * come from the segment's post-roll and are not fed again with the next segment.
 */
export function trackTimeline(channels: number, lookahead: number): TrackTimeline {
  let open = false;
  /** Frames of the run fed so far (captured or silence). */
  let fedTo = 0;
  let nextStart = 0;
  return {
    next(segment: Segment): Feed {
      const start = segment.startFrame;
      const end = start + segment.frames;
      const restart = segment.discontinuity || !open || start !== nextStart;
      if (restart) fedTo = start;
      const postRollFrames = segment.postRoll.length / channels;
      const target = end + lookahead;
      const capturedEnd = Math.min(target, end + postRollFrames);
      const pieces: PcmSamples[] = [];
      if (fedTo < end) pieces.push(segment.samples.subarray((fedTo - start) * channels));
      const fromPostRoll = Math.max(fedTo, end);
      if (fromPostRoll < capturedEnd) pieces.push(segment.postRoll.subarray((fromPostRoll - end) * channels, (capturedEnd - end) * channels));
      const silence = postRollFrames < lookahead ? target - Math.max(fedTo, capturedEnd) : 0;
      fedTo = Math.max(fedTo, target);
      nextStart = end;
      const ends = postRollFrames === 0;
      open = !ends;
      return { restart, pieces, silence, ends };
    },
  };
}
