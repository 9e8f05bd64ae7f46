import { OpusEncoder } from './libopus.js';
import type { PcmSamples } from '../segment/pcm.js';
import type { Segment } from '../segment/segmenter.js';
import { mediaFragment, type CodedSample } from './cmaf.js';
import { OPUS_FRAME, OPUS_LOOKAHEAD, opusInit, PRIMING_SILENCE, type OpusTrackOptions } from './opus-init.js';
import type { EncodedSegment, SegmentEncoder } from './segment-encoder.js';
import { trackTimeline, type TrackTimeline } from './track-timeline.js';

/** About 40 ms of encoding work between yields to the event loop. */
const YIELD_EVERY_PACKETS = 50;
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_SET_VBR = 4006;


/**
 * LQ: one libopus encoder for the whole run, cut into CMAF fragments at segment boundaries. Its delay is
 * absorbed once, at the start of the run: the first fragment begins with one priming packet, before the
 * run's first sample on the timeline, which the init's edit list (and dOps pre-skip) leave unplayed.
 * HQ and LQ fragments of a seq therefore present the same input samples.
 */
export class OpusTrackEncoder implements SegmentEncoder {
  readonly stream = 'lq' as const;
  readonly init: Buffer;
  private readonly shift: number;
  private readonly timeline: TrackTimeline;
  private encoder: OpusEncoder | undefined;
  /** 16-bit input waiting for a whole frame. */
  private readonly pending: Int16Array;
  private pendingFrames = 0;
  private readonly packets: Buffer[] = [];

  constructor(private readonly options: OpusTrackOptions) {
    const { format, segmentFrames } = options;
    if (format.sampleRate !== 48000) throw new RangeError('the Opus stream is made at 48000 Hz');
    if (segmentFrames % OPUS_FRAME !== 0) throw new RangeError(`segments must be whole 20 ms frames, got ${segmentFrames} frames`);
    this.shift = format.bitsPerSample - 16;
    this.timeline = trackTimeline(format.channels, OPUS_LOOKAHEAD);
    this.pending = new Int16Array(OPUS_FRAME * format.channels);
    this.init = opusInit(options);
  }

  async encode(segment: Segment): Promise<EncodedSegment> {
    const feed = this.timeline.next(segment);
    if (feed.restart) this.restart();
    for (const piece of feed.pieces) await this.feed(piece, piece.length);
    if (feed.silence > 0) await this.feed(undefined, feed.silence * this.options.format.channels);
    if (feed.ends && this.pendingFrames > 0) await this.feed(undefined, (OPUS_FRAME - this.pendingFrames) * this.options.format.channels);
    if (feed.ends) this.encoder = undefined;

    const packets = this.packets.splice(0);
    const priming = feed.restart ? 1 : 0;
    const samples: CodedSample[] = packets.map((bytes) => ({ bytes, duration: OPUS_FRAME }));
    // A partial last segment ends within its last packet: that packet lasts only the segment's rest.
    const last = samples.at(-1);
    if (last) last.duration = segment.frames - (samples.length - 1 - priming) * OPUS_FRAME;
    const start = segment.seq * this.options.segmentFrames - priming * OPUS_FRAME;
    const bytes = mediaFragment({ sequenceNumber: segment.seq, baseMediaDecodeTime: start, samples });
    return { stream: this.stream, seq: segment.seq, samples: segment.frames, bytes, init: this.init };
  }

  private restart(): void {
    const { format, bitrate } = this.options;
    const encoder = new OpusEncoder(48000, format.channels);
    encoder.setBitrate(bitrate);
    encoder.applyEncoderCTL(OPUS_SET_VBR, 1);
    encoder.applyEncoderCTL(OPUS_SET_COMPLEXITY, 10);
    this.encoder = encoder;
    this.packets.length = 0;
    this.pending.fill(0);
    this.pendingFrames = PRIMING_SILENCE;
  }

  /** Feeds `count` interleaved samples of `samples` (silence when undefined), encoding each whole frame. */
  private async feed(samples: PcmSamples | undefined, count: number): Promise<void> {
    const channels = this.options.format.channels;
    const frameSamples = OPUS_FRAME * channels;
    for (let offset = 0; offset < count; ) {
      const take = Math.min(count - offset, frameSamples - this.pendingFrames * channels);
      this.toInt16(samples, offset, take, this.pendingFrames * channels);
      offset += take;
      this.pendingFrames += take / channels;
      if (this.pendingFrames === OPUS_FRAME) {
        this.packets.push(this.encoder!.encode(Buffer.from(this.pending.buffer, this.pending.byteOffset, this.pending.byteLength)));
        this.pendingFrames = 0;
        // Let other work (capture, uploads) in between: a 10 s segment is ~100 ms of encoding.
        if (this.packets.length % YIELD_EVERY_PACKETS === 0) await new Promise(setImmediate);
      }
    }
  }

  /** Writes samples as 16-bit PCM (libopus's int16 API, host order) into the pending frame, rounding off the extra bits. */
  private toInt16(samples: PcmSamples | undefined, from: number, count: number, at: number): void {
    const out = this.pending;
    if (!samples) {
      out.fill(0, at, at + count);
      return;
    }
    const shift = this.shift;
    const half = shift > 0 ? 1 << (shift - 1) : 0;
    for (let i = 0; i < count; i++) {
      const v = (samples[from + i]! + half) >> shift;
      out[at + i] = v > 32767 ? 32767 : v;
    }
  }
}
