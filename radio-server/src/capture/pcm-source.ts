import type { PcmFormat, PcmSamples } from '../segment/pcm.js';

/**
 * Frames in a captured block, for every source: 100 ms at 48 kHz. The daemon's costs per block (waking
 * up, the level meter, the segmenter, the archive's queue) come ten times a second, the same from the
 * interface as from a file, so `npm run bench` measures what the station runs.
 */
export const CAPTURE_BLOCK_FRAMES = 4800;

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
