import opus from '@discordjs/opus';
import type { PcmFormat, PcmSamples } from '../segment/pcm.js';
import type { Segment } from '../segment/segmenter.js';
import { opusHead, opusTags } from './ogg-opus.js';
import { OggPageWriter } from './ogg-page-writer.js';
import type { EncodedSegment, SegmentEncoder } from './segment-encoder.js';

/** 20 ms at 48 kHz: the frame size the protocol's LQ stream uses. */
export const OPUS_FRAME = 960;
/** libopus's algorithmic delay at 48 kHz in the audio application (2.5 ms + 4 ms), which pre-skip hides. */
export const OPUS_LOOKAHEAD = 312;
/** Audio after the segment the encoder sees, so the segment's last frame ends on the real signal (40 ms). */
export const OPUS_POST_ROLL = 2 * OPUS_FRAME;
/** 80 ms of pre-roll: RFC 7845 (section 4.6) asks for that much for the decoder to converge. */
export const OPUS_PRE_ROLL = 3840;

/** About 40 ms of encoding work between yields to the event loop. */
const YIELD_EVERY_PACKETS = 50;
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_SET_VBR = 4006;

export interface OpusOptions {
  format: PcmFormat;
  bitrate: number;
  /** Written to OpusTags as ENCODER=... */
  vendor?: string;
}

/**
 * LQ: each segment becomes a complete Ogg Opus file (RFC 7845) through libopus. The encoder is primed
 * with the audio just before the segment (counted in pre-skip, so it decodes to nothing) and the end is
 * trimmed by the last page's granule position, so each file decodes to exactly the segment's frames.
 */
export class OpusSegmentEncoder implements SegmentEncoder {
  readonly stream = 'lq' as const;
  private readonly shift: number;
  /** The 16-bit input of the last encode, reused by the next one unless that starts before it ends. */
  private spareInput: Buffer | undefined;

  constructor(private readonly options: OpusOptions) {
    if (options.format.sampleRate !== 48000) throw new RangeError('the Opus segments are made at 48000 Hz');
    this.shift = options.format.bitsPerSample - 16;
  }

  async encode(segment: Segment): Promise<EncodedSegment> {
    const { channels } = this.options.format;
    const encoder = new opus.OpusEncoder(48000, channels);
    encoder.setBitrate(this.options.bitrate);
    encoder.applyEncoderCTL(OPUS_SET_VBR, 1);
    encoder.applyEncoderCTL(OPUS_SET_COMPLEXITY, 10);

    const preRollFrames = segment.preRoll.length / channels;
    const preSkip = preRollFrames + OPUS_LOOKAHEAD;
    // Input: pre-roll, the segment, post-roll, then silence until the lookahead of the last sample is flushed.
    const inputFrames = preRollFrames + segment.frames + OPUS_LOOKAHEAD;
    const packets = Math.ceil(inputFrames / OPUS_FRAME);
    const input = this.takeInput(packets * OPUS_FRAME * channels * 2);
    const pcm16 = input.subarray(0, packets * OPUS_FRAME * channels * 2);
    const pcm16Samples = new Int16Array(pcm16.buffer, pcm16.byteOffset, pcm16.length / 2);
    this.toInt16(segment.preRoll, pcm16Samples, 0);
    this.toInt16(segment.samples, pcm16Samples, segment.preRoll.length);
    const postRoll = segment.postRoll.subarray(0, pcm16Samples.length - segment.preRoll.length - segment.samples.length);
    this.toInt16(postRoll, pcm16Samples, segment.preRoll.length + segment.samples.length);

    const ogg = new OggPageWriter(oggSerial(segment.seq));
    ogg.writePacket(opusHead(channels, preSkip, 48000), 0n);
    ogg.flush();
    ogg.writePacket(opusTags(this.options.vendor ?? 'radio-server', []), 0n);
    ogg.flush();
    const frameBytes = OPUS_FRAME * channels * 2;
    for (let i = 0; i < packets - 1; i++) {
      // Let other work (capture, uploads) in between: a 10 s segment is ~100 ms of encoding.
      if (i % YIELD_EVERY_PACKETS === YIELD_EVERY_PACKETS - 1) await new Promise(setImmediate);
      ogg.writePacket(encoder.encode(pcm16.subarray(i * frameBytes, (i + 1) * frameBytes)), BigInt((i + 1) * OPUS_FRAME));
    }
    const last = encoder.encode(pcm16.subarray((packets - 1) * frameBytes));
    const bytes = ogg.end(last, BigInt(preSkip + segment.frames));
    this.spareInput = input;
    return { stream: this.stream, seq: segment.seq, samples: segment.frames, bytes };
  }

  /** A buffer whose first `bytes` are zero (the tail past the post-roll must be silence): the spare one when it fits. */
  private takeInput(bytes: number): Buffer {
    const spare = this.spareInput;
    this.spareInput = undefined;
    if (!spare || spare.length < bytes) return Buffer.alloc(bytes);
    return spare.fill(0, 0, bytes);
  }

  /** Writes samples as 16-bit PCM (libopus's int16 API, host order), rounding off the extra bits. */
  private toInt16(samples: PcmSamples, out: Int16Array, offset: number): void {
    const shift = this.shift;
    const half = shift > 0 ? 1 << (shift - 1) : 0;
    for (let i = 0; i < samples.length; i++) {
      const v = (samples[i]! + half) >> shift;
      out[offset + i] = v > 32767 ? 32767 : v;
    }
  }
}

/** A per-segment Ogg serial number derived from the seq (Knuth's multiplicative hash), so output is reproducible. */
function oggSerial(seq: number): number {
  return Math.imul(seq + 1, 2654435761) >>> 0;
}
