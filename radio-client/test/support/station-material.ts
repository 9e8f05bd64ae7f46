import type { PcmFormat, PcmSamples } from '../../../radio-server/src/segment/pcm.ts';
import type { StationDescription } from '../../../radio-server/src/publish/manifest-builder.ts';

/** What the test station captures: a stereo 48 kHz 16-bit tone, as the daemon's capture would hand it over. */
export interface StationMaterial {
  description: StationDescription;
  format: PcmFormat;
  /** Frames in a full segment. */
  segmentFrames: number;
  /** Interleaved PCM of frames [startFrame, startFrame + frames) of the endless signal (a pure function of the frame index). */
  pcm(startFrame: number, frames: number): PcmSamples;
}

/** The tone's frequency and peak: 997 Hz at -18 dBFS (RMS about 0.088, -21 dBFS), a prime frequency that no segment length divides. */
export const TONE_HZ = 997;
export const TONE_PEAK = 0.125;

/**
 * A live station's input: a continuous tone cut into `segmentSeconds` segments. Its phase depends only
 * on the absolute frame, so every run and every gap joins the same sine: a skip or a repeat by the
 * player shows as a phase jump.
 */
export function toneMaterial(segmentSeconds: number, station = 'Loopback FM'): StationMaterial {
  const format: PcmFormat = { sampleRate: 48000, channels: 2, bitsPerSample: 16 };
  const amplitude = TONE_PEAK * 32767;
  return {
    description: { station, segmentSeconds, format, opusBitrate: 128000 },
    format,
    segmentFrames: segmentSeconds * format.sampleRate,
    pcm(startFrame, frames) {
      const samples = new Int32Array(frames * format.channels);
      for (let i = 0; i < frames; i++) {
        const value = Math.round(amplitude * Math.sin((2 * Math.PI * TONE_HZ * (startFrame + i)) / format.sampleRate));
        samples[2 * i] = samples[2 * i + 1] = value;
      }
      return samples;
    },
  };
}
