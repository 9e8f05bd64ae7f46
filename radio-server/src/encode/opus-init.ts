// The LQ stream's constants and init segment, apart from the encoder: the main thread of `encode` needs
// the init but not libopus (whose loader costs ~0.13 s of CPU), which runs on the worker thread.
import { initSegment } from './cmaf.js';
import { ENCODER_POST_ROLL } from './segment-encoder.js';
import type { PcmFormat } from '../segment/pcm.js';

/** 20 ms at 48 kHz: the frame size the protocol's LQ stream uses. */
export const OPUS_FRAME = 960;
/** libopus's algorithmic delay at 48 kHz in the audio application (2.5 ms + 4 ms). */
export const OPUS_LOOKAHEAD = ENCODER_POST_ROLL;
/**
 * Silence fed before the run's first sample, so that with the encoder's delay the first packet is pure
 * priming and every later packet decodes to exactly one frame of the input: packet k of a run presents
 * input frames [(k-1)*960, k*960), and a segment of whole 20 ms frames is whole packets.
 */
export const PRIMING_SILENCE = OPUS_FRAME - OPUS_LOOKAHEAD;

export interface OpusTrackOptions {
  format: PcmFormat;
  bitrate: number;
  /** Frames in a full segment (a whole number of 20 ms frames). */
  segmentFrames: number;
  /** Seq of the run's first segment (its init's place on the timeline). */
  runSeq: number;
  /** Frames the presentation holds, when known before the init is needed (a finished file); else open-ended. */
  totalFrames?: number;
}

/** The LQ stream's init segment for a run: the same bytes the encoder's fragments are made for. */
export function opusInit(options: OpusTrackOptions): Buffer {
  return initSegment({
    entry: { codec: 'opus', channels: options.format.channels, sampleRate: 48000, preSkip: OPUS_FRAME },
    presentationStart: options.runSeq * options.segmentFrames,
    presentationDuration: options.totalFrames,
  });
}

