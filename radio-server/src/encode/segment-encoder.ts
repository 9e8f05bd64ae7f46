import type { StreamName } from '@radio/protocol';
import type { Segment } from '../segment/segmenter.js';

/** One segment encoded for one stream: a complete file that decodes on its own to `samples` frames. */
export interface EncodedSegment {
  stream: StreamName;
  seq: number;
  samples: number;
  bytes: Buffer;
}

/** An encoder for one stream of the protocol; each call encodes one segment into a complete file. */
export interface SegmentEncoder {
  readonly stream: StreamName;
  encode(segment: Segment): Promise<EncodedSegment>;
}
