import type { PcmSamples } from '../segment/pcm.js';

/** Raw integer PCM layouts the sources read: little-endian, 2, 3 or 4 bytes a sample. */
export type RawSampleFormat = 's16le' | 's24le' | 's32le';

export const BYTES_PER_SAMPLE: Record<RawSampleFormat, number> = { s16le: 2, s24le: 3, s32le: 4 };

/** Significant bits kept from each raw format: 32-bit input is held at 24 bits (see README, "Input"). */
export const KEPT_BITS: Record<RawSampleFormat, 16 | 24> = { s16le: 16, s24le: 24, s32le: 24 };

/** Decodes raw little-endian PCM into integers of `KEPT_BITS[format]` bits. `bytes` must hold whole samples. */
export function decodePcm(bytes: Uint8Array, format: RawSampleFormat): PcmSamples {
  const width = BYTES_PER_SAMPLE[format];
  const count = Math.floor(bytes.length / width);
  const out = new Int32Array(count);
  switch (format) {
    case 's16le':
      for (let i = 0, o = 0; i < count; i++, o += 2) out[i] = ((bytes[o]! | (bytes[o + 1]! << 8)) << 16) >> 16;
      break;
    case 's24le':
      for (let i = 0, o = 0; i < count; i++, o += 3) out[i] = ((bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16)) << 8) >> 8;
      break;
    case 's32le':
      // Keep the top 24 bits: FLAC at 32 bits does not decode in ffmpeg 5 or in browsers.
      for (let i = 0, o = 0; i < count; i++, o += 4) out[i] = (bytes[o + 1]! | (bytes[o + 2]! << 8) | (bytes[o + 3]! << 16)) << 8 >> 8;
      break;
  }
  return out;
}
