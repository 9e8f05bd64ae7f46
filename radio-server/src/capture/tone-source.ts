import type { PcmFormat, PcmSamples } from '../segment/pcm.js';
import { CAPTURE_BLOCK_FRAMES, type PcmSource } from './pcm-source.js';
import { paceInRealTime, type PacerClock } from './real-time-pacer.js';

const FORMAT: PcmFormat = { sampleRate: 48000, channels: 2, bitsPerSample: 24 };
/** -12 dBFS: loud enough to hear, far from clipping. */
const AMPLITUDE = 0.25 * (2 ** 23 - 1);
const TONE_HZ = 440;
const MARKER_HZ = 880;
/** Every second starts with a 50 ms marker at twice the pitch, so a gap or a repeat is plain to hear. */
const MARKER_FRAMES = 2400;

/** The test signal: a sine with a periodic marker, generated in real time (or `speed` times faster). */
export class ToneSource implements PcmSource {
  readonly format = FORMAT;
  readonly live = true;
  readonly description = `test tone (${TONE_HZ} Hz, ${MARKER_HZ} Hz marker each second)`;
  private readonly abort = new AbortController();

  constructor(private readonly options: { speed?: number; clock?: PacerClock } = {}) {}

  blocks(): AsyncIterable<PcmSamples> {
    return paceInRealTime(generate(this.abort.signal), 2, FORMAT.sampleRate, this.options.speed ?? 1, this.abort.signal, this.options.clock);
  }

  stop(): void {
    this.abort.abort();
  }
}

/** The tone's value at a frame: a pure function of the frame index, so the signal is phase-continuous. */
export function toneSample(frame: number): number {
  const inSecond = frame % FORMAT.sampleRate;
  const hz = inSecond < MARKER_FRAMES ? MARKER_HZ : TONE_HZ;
  return Math.round(AMPLITUDE * Math.sin((2 * Math.PI * hz * frame) / FORMAT.sampleRate));
}

async function* generate(signal: AbortSignal): AsyncGenerator<PcmSamples> {
  for (let frame = 0; !signal.aborted; frame += CAPTURE_BLOCK_FRAMES) {
    const block = new Int32Array(CAPTURE_BLOCK_FRAMES * 2);
    for (let i = 0; i < CAPTURE_BLOCK_FRAMES; i++) block.fill(toneSample(frame + i), i * 2, i * 2 + 2);
    yield block;
  }
}
