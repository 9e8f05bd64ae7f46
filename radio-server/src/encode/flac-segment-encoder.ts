import type { PcmFormat } from '../segment/pcm.js';
import type { Segment } from '../segment/segmenter.js';
import { asFlacInput, openFlacStream } from './flac-stream.js';
import { MemoryFile } from './memory-file.js';
import type { EncodedSegment, SegmentEncoder } from './segment-encoder.js';

export interface FlacOptions {
  format: PcmFormat;
  /** libFLAC compression level, 0..8. */
  compressionLevel: number;
}

/**
 * HQ: each segment becomes a complete FLAC file through libFLAC, written into an in-memory file that
 * libFLAC seeks back in to complete STREAMINFO (the real MD5 and sample count).
 */
export class FlacSegmentEncoder implements SegmentEncoder {
  readonly stream = 'hq' as const;
  /** Reused from segment to segment (encodes are synchronous, so never shared). */
  private readonly file = new MemoryFile(0);

  constructor(private readonly options: FlacOptions) {}

  async encode(segment: Segment): Promise<EncodedSegment> {
    const { format, compressionLevel } = this.options;
    const file = this.file;
    // Room for the raw PCM: FLAC is smaller but for white noise, so the file rarely grows.
    file.reset(segment.frames * format.channels * (format.bitsPerSample / 8) + 8192);
    const encoder = openFlacStream({ format, compressionLevel, totalSamples: segment.frames }, file);
    const pcm = asFlacInput(segment.samples);
    const accepted = encoder.processInterleaved(pcm, segment.frames);
    const finished = encoder.finish();
    if (!accepted || !finished) throw new Error(`libFLAC failed to encode segment ${segment.seq}: ${String(encoder.getState())}`);
    return { stream: this.stream, seq: segment.seq, samples: segment.frames, bytes: file.contents() };
  }
}
