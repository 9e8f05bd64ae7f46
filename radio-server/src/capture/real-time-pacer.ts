import { setTimeout as sleep } from 'node:timers/promises';
import type { PcmSamples } from '../segment/pcm.js';

/** The clock a pacer waits on; injected so tests can run faster than the wall clock. */
export interface PacerClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};

/**
 * Releases generated or file-read blocks at the pace of real time times `speed`, as a sound card would:
 * block k is due when the frames before it would have been played. Ends when `signal` aborts.
 */
export async function* paceInRealTime(
  blocks: AsyncIterable<PcmSamples>, channels: number, sampleRate: number, speed: number, signal: AbortSignal, clock: PacerClock = systemClock,
): AsyncGenerator<PcmSamples> {
  const start = clock.now();
  let frames = 0;
  for await (const block of blocks) {
    const due = start + (frames * 1000) / (sampleRate * speed);
    const wait = due - clock.now();
    if (wait > 0) await clock.sleep(wait, signal);
    if (signal.aborted) return;
    yield block;
    frames += block.length / channels;
  }
}
