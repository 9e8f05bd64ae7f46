/** The shape of a PCM signal as it moves through the daemon. */
export interface PcmFormat {
  sampleRate: number;
  channels: 1 | 2;
  /** Significant bits of each sample; samples are held as integers of this many bits. */
  bitsPerSample: 16 | 24;
}

/** Interleaved PCM: `samples.length === frames * channels`, each value an integer of `bitsPerSample` bits. */
export type PcmSamples = Int32Array;

/** Number of whole frames held by interleaved `samples`. */
export function frameCount(samples: PcmSamples, format: PcmFormat): number {
  return samples.length / format.channels;
}
