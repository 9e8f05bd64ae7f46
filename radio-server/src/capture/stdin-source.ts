import type { Readable } from 'node:stream';
import type { PcmFormat, PcmSamples } from '../segment/pcm.js';
import { BYTES_PER_SAMPLE, decodePcm, KEPT_BITS, type RawSampleFormat } from './pcm-decode.js';
import type { PcmSource } from './pcm-source.js';
import { wholeFrames } from './whole-frames.js';

/** Raw interleaved stereo PCM at 48 kHz from a stream (stdin): for arecord, ffmpeg or JACK tools. */
export class StdinSource implements PcmSource {
  readonly format: PcmFormat;
  readonly live = false;
  readonly description;
  private stopped = false;

  constructor(
    private readonly input: Readable,
    private readonly rawFormat: RawSampleFormat,
  ) {
    this.format = { sampleRate: 48000, channels: 2, bitsPerSample: KEPT_BITS[rawFormat] };
    this.description = `stdin (${rawFormat}, stereo, 48000 Hz)`;
  }

  async *blocks(): AsyncGenerator<PcmSamples> {
    const frameBytes = BYTES_PER_SAMPLE[this.rawFormat] * 2;
    try {
      for await (const frames of wholeFrames(this.input, frameBytes)) {
        if (this.stopped) break;
        yield decodePcm(frames, this.rawFormat);
      }
    } catch (error) {
      if (!this.stopped) throw error; // stop() destroys the stream: its premature close is expected
    }
  }

  stop(): void {
    this.stopped = true;
    this.input.destroy();
  }
}
