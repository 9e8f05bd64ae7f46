import type { Encoder } from 'flac-bindings/api';
import type { PcmFormat } from '../segment/pcm.js';
import type { Segment } from '../segment/segmenter.js';
import { flacStreamInfo, initSegment, mediaFragment, type CodedSample } from './cmaf.js';
import { asFlacInput, openFlacStream } from './flac-stream.js';
import type { EncodedSegment, SegmentEncoder } from './segment-encoder.js';
import { trackTimeline, type TrackTimeline } from './track-timeline.js';

export interface FlacTrackOptions {
  format: PcmFormat;
  /** libFLAC compression level, 0..8. */
  compressionLevel: number;
  /** Frames in a full segment. */
  segmentFrames: number;
  /** Seq of the run's first segment (its init's place on the timeline). */
  runSeq: number;
  /** Frames the presentation holds, when known before the init is needed (a finished file); else open-ended. */
  totalFrames?: number;
}

/** libFLAC emits a frame once it holds one sample more than the block (its overread). */
const LIBFLAC_OVERREAD = 1;

/**
 * The FLAC block size for segments of `segmentFrames`: the divisor of it closest to 4096 (what level 5 uses)
 * within the FLAC subset's limit of 4608, so that every segment is whole frames (4000 for 10 s and 2 s).
 */
export function flacBlockSize(segmentFrames: number): number {
  let best = 0;
  for (let size = 1; size <= 4608; size++) {
    if (segmentFrames % size === 0 && Math.abs(size - 4096) <= Math.abs(best - 4096)) best = size;
  }
  return best;
}

/**
 * HQ: one libFLAC stream for the whole run, cut into CMAF fragments at segment boundaries. The block size
 * divides the segment, so each segment is whole FLAC frames; after a gap (segments dropped before
 * encoding) a fresh libFLAC stream starts, which a FLAC decoder cannot tell from the old one's frames.
 */
export class FlacTrackEncoder implements SegmentEncoder {
  readonly stream = 'hq' as const;
  readonly blockSize: number;
  readonly init: Buffer;
  private readonly timeline: TrackTimeline;
  private encoder: Encoder | undefined;
  private readonly frames: CodedSample[] = [];

  constructor(private readonly options: FlacTrackOptions) {
    const { format, segmentFrames, runSeq } = options;
    this.blockSize = flacBlockSize(segmentFrames);
    this.timeline = trackTimeline(format.channels, LIBFLAC_OVERREAD);
    this.init = initSegment({
      entry: { codec: 'flac', ...format, streamInfo: flacStreamInfo(this.blockSize, format.sampleRate, format.channels, format.bitsPerSample) },
      presentationStart: runSeq * segmentFrames,
      presentationDuration: options.totalFrames,
    });
  }

  async encode(segment: Segment): Promise<EncodedSegment> {
    const { channels } = this.options.format;
    const feed = this.timeline.next(segment);
    if (feed.restart) this.restart();
    const encoder = this.encoder!;
    const ok = feed.pieces.every((piece) => encoder.processInterleaved(asFlacInput(piece), piece.length / channels)) && (!feed.ends || encoder.finish());
    if (!ok) throw new Error(`libFLAC failed to encode segment ${segment.seq}: ${String(encoder.getState())}`);
    if (feed.ends) this.encoder = undefined;
    const frames = this.frames.splice(0);
    const bytes = mediaFragment({ sequenceNumber: segment.seq, baseMediaDecodeTime: segment.seq * this.options.segmentFrames, samples: frames });
    return { stream: this.stream, seq: segment.seq, samples: segment.frames, bytes, init: this.init };
  }

  private restart(): void {
    // A stream left open held at most the overread sample of a segment that was dropped: its end is not ours.
    this.encoder?.finish();
    this.frames.length = 0;
    const { format, compressionLevel } = this.options;
    this.encoder = openFlacStream({ format, compressionLevel, blocksize: this.blockSize }, {
      position: 0,
      // Metadata (samples = 0) is libFLAC's own header: the init's dfLa says it for the fragments.
      write: (bytes, samples) => {
        if (samples > 0) this.frames.push({ bytes: Buffer.from(bytes), duration: samples });
      },
    });
  }
}
