import type { PcmFormat, PcmSamples } from '../segment/pcm.js';

/** Where the programme comes from: the audio interface, a test tone, a file, or stdin. */
export interface PcmSource {
  readonly format: PcmFormat;
  /** For the operator's log: what is being captured. */
  readonly description: string;
  /**
   * A live source (a sound card, the tone) cannot wait: when encoding falls behind, segments are dropped.
   * A file or a pipe can: the pipeline then waits for the encoders, and nothing is lost.
   */
  readonly live: boolean;
  /**
   * Interleaved PCM blocks until the source ends or `stop` is called. Call once. Each block is a new array
   * the source never touches again, so consumers may keep it without a copy.
   */
  blocks(): AsyncIterable<PcmSamples>;
  /** Ends the blocks after the one being delivered; safe to call more than once. */
  stop(): void;
}
