import type { StreamName } from '@radio/protocol';
import type { Segment } from '../segment/segmenter.js';

/** One segment encoded for one stream: a CMAF fragment that plays after its run's init. */
export interface EncodedSegment {
  stream: StreamName;
  seq: number;
  samples: number;
  /** The fragment (`styp` + `moof` + `mdat`), the protocol's `<stream>/<seq>.m4s`. */
  bytes: Buffer;
  /** The run's init segment (`ftyp` + `moov`), the protocol's `<stream>/init-<run>.mp4`; the same for the whole run. */
  init: Buffer;
}

/**
 * An encoder for one stream of the protocol: one codec state for the whole run, fed the run's segments in
 * order (each with its post-roll), so that segments follow each other seamlessly.
 */
export interface SegmentEncoder {
  readonly stream: StreamName;
  encode(segment: Segment): Promise<EncodedSegment>;
}

/** Frames after a segment its encoders need before they can finish it: libopus's lookahead at 48 kHz. */
export const ENCODER_POST_ROLL = 312;
