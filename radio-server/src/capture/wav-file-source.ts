import type { PcmSamples } from '../segment/pcm.js';
import { CAPTURE_BLOCK_FRAMES, type PcmSource } from './pcm-source.js';
import { paceInRealTime, type PacerClock } from './real-time-pacer.js';
import type { WavFile } from './wav-file.js';


export interface WavFileSourceOptions {
  /**
   * Play `speed` times faster than real time (tests, soak runs). Omitted: not paced at all, read as fast
   * as the pipeline takes it (`encode`; a source that is not live is waited for, never dropped from).
   */
  speed?: number;
  /** Start again at the end instead of ending the source. */
  loop: boolean;
  clock?: PacerClock;
}

/** A WAV file played as if it were live (paced in real time, optionally looped), or read unpaced. */
export class WavFileSource implements PcmSource {
  readonly format;
  readonly live = false;
  readonly description;
  private readonly abort = new AbortController();
  /** Reading has begun: from then on the reader closes the file when it ends. */
  private reading = false;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly wav: WavFile,
    private readonly options: WavFileSourceOptions,
  ) {
    this.format = wav.format;
    this.description = `file ${wav.path}${options.loop ? ' (looped)' : ''}${options.speed !== undefined && options.speed !== 1 ? ` at ${options.speed}x speed` : ''}`;
  }

  blocks(): AsyncIterable<PcmSamples> {
    const { speed, clock } = this.options;
    if (speed === undefined) return this.read();
    return paceInRealTime(this.read(), this.format.channels, this.format.sampleRate, speed, this.abort.signal, clock);
  }

  /** Stops reading; a source stopped before it was read (a failed start) closes its file here. */
  stop(): void {
    this.abort.abort();
    if (!this.reading) void this.close().catch(() => undefined);
  }

  private close(): Promise<void> {
    return (this.closed ??= this.wav.close());
  }

  private async *read(): AsyncGenerator<PcmSamples> {
    this.reading = true;
    try {
      if (this.abort.signal.aborted) return;
      do {
        for await (const block of this.wav.blocks(CAPTURE_BLOCK_FRAMES)) {
          if (this.abort.signal.aborted) return;
          yield block;
        }
      } while (this.options.loop && !this.abort.signal.aborted);
    } finally {
      await this.close();
    }
  }
}
