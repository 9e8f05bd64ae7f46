/**
 * Judges a recording of a phase-continuous sine: a skipped or repeated frame, a click, a dip or a
 * silence all break it. The predictor of a pure sine, x[n] = 2 cos(w) x[n-1] - x[n-2], is exact for
 * any amplitude and phase; its residual is the coding noise (HQ: the 16-bit floor; LQ: Opus's) until
 * the phase jumps. A silence has no residual, so the level is judged too, in 5 ms blocks.
 */

/** One place where the recording is not the tone. */
export interface ToneFault {
  /** Seconds from the recording's start. */
  start: number;
  end: number;
  /** The largest predictor residual there, relative to the tone's peak. */
  residual: number;
  /** The lowest and highest 5 ms RMS there, relative to the tone's. */
  minLevel: number;
  maxLevel: number;
}

export interface ToneJudgement {
  faults: ToneFault[];
  /** The largest residual over the judged span, relative to the tone's peak. */
  maxResidual: number;
  /** Seconds judged. */
  seconds: number;
}

export interface ToneOptions {
  hz: number;
  /** The tone's peak in the recording. */
  peak: number;
  sampleRate?: number;
  /** The span to judge, in seconds from the start (default: all but the first and last 50 ms). */
  from?: number;
  to?: number;
  /** A residual above this fraction of the peak is a fault (default 0.03: a 20 ms skip or repeat gives about 0.3). */
  residualLimit?: number;
  /** A 5 ms RMS off the tone's by more than this fraction is a fault (default 0.15, about 1.4 dB). */
  levelTolerance?: number;
}

const BLOCK_SECONDS = 0.005;
/** Faults closer than this are one. */
const MERGE_SECONDS = 0.02;

export function judgeTone(samples: Float32Array, options: ToneOptions): ToneJudgement {
  const { hz, peak, sampleRate = 48000, residualLimit = 0.03, levelTolerance = 0.15 } = options;
  const first = Math.max(2, Math.round((options.from ?? 0.05) * sampleRate));
  const last = Math.min(samples.length, Math.round((options.to ?? samples.length / sampleRate - 0.05) * sampleRate));
  const c = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  const spots: Array<{ at: number; residual: number; level: number }> = [];
  let maxResidual = 0;
  for (let n = first; n < last; n++) {
    const residual = Math.abs(samples[n]! - c * samples[n - 1]! + samples[n - 2]!) / peak;
    maxResidual = Math.max(maxResidual, residual);
    if (residual > residualLimit) spots.push({ at: n, residual, level: 1 });
  }
  const block = Math.round(BLOCK_SECONDS * sampleRate);
  const rms = peak / Math.SQRT2;
  for (let b = first; b + block <= last; b += block) {
    let sum = 0;
    for (let n = b; n < b + block; n++) sum += samples[n]! * samples[n]!;
    const level = Math.sqrt(sum / block) / rms;
    if (Math.abs(level - 1) > levelTolerance) spots.push({ at: b, residual: 0, level }, { at: b + block - 1, residual: 0, level });
  }
  spots.sort((a, b) => a.at - b.at);
  const faults: ToneFault[] = [];
  for (const spot of spots) {
    const at = spot.at / sampleRate;
    const fault = faults.at(-1);
    if (fault && at - fault.end <= MERGE_SECONDS) {
      fault.end = Math.max(fault.end, at);
      fault.residual = Math.max(fault.residual, spot.residual);
      fault.minLevel = Math.min(fault.minLevel, spot.level);
      fault.maxLevel = Math.max(fault.maxLevel, spot.level);
    } else {
      faults.push({ start: at, end: at, residual: spot.residual, minLevel: spot.level, maxLevel: spot.level });
    }
  }
  return { faults, maxResidual, seconds: (last - first) / sampleRate };
}

/** A fault in a line, for assertion messages. */
export function describeFault(f: ToneFault): string {
  return `${f.start.toFixed(3)}-${f.end.toFixed(3)} s: residual ${f.residual.toFixed(3)}, level ${f.minLevel.toFixed(2)}-${f.maxLevel.toFixed(2)}`;
}
