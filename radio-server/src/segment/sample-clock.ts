/** Most a segment's start may be moved against the sample clock per second of audio: 500 ppm. */
const MAX_SLEW = 500e-6;
/** Share of the (smoothed) offset to UTC corrected per segment: a tenth, so jitter never shows. */
const CORRECTION_GAIN = 0.1;
/** Weight of the newest observation in the smoothed offset (capture blocks arrive with jitter). */
const SMOOTHING = 0.2;

/**
 * The wall-clock time of each segment's first sample, kept on the sample clock: a segment starts where
 * the previous one ended, by its sample count. A sound card's clock drifts from UTC by tens of ppm (a
 * second or more a day), so the times are re-anchored to UTC slowly: each segment's length is stretched
 * or shrunk by at most 500 ppm towards where the wall clock says it started. Times never step back. Pure:
 * the observed wall-clock times are given.
 */
export class SampleClock {
  #previous: { start: number; ms: number } | undefined;
  #offsetMs = 0;

  constructor(private readonly sampleRate: number) {}

  /**
   * The start of the next segment of the run, which holds `frames` frames; `observedStart` is when the
   * wall clock says it began (for a live source, the time its last frames arrived minus its length; for a
   * file, which is not captured in real time, the sample clock itself). The first segment starts there.
   */
  next(frames: number, observedStart: Date): Date {
    const ms = (frames * 1000) / this.sampleRate;
    const previous = this.#previous;
    let start = observedStart.getTime();
    if (previous) {
      start = previous.start + previous.ms;
      this.#offsetMs += SMOOTHING * (observedStart.getTime() - start - this.#offsetMs);
      const limit = previous.ms * MAX_SLEW;
      const correction = Math.max(-limit, Math.min(limit, this.#offsetMs * CORRECTION_GAIN));
      start += correction;
      this.#offsetMs -= correction;
    }
    this.#previous = { start, ms };
    return new Date(start);
  }
}
