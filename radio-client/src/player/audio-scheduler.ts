/**
 * Schedules decoded segments back to back on an AudioContext's timeline, to the sample. No Lit and no
 * DOM globals here: it takes the few AudioContext members it needs, so tests drive it with fakes.
 */

/** The part of an AudioBuffer the scheduler reads. */
export interface ScheduledBuffer {
  readonly length: number;
  readonly sampleRate: number;
}

/** The part of an AudioBufferSourceNode the scheduler uses. */
export interface SourceNodeLike<B extends ScheduledBuffer> {
  buffer: B | null;
  onended: ((event: never) => unknown) | null;
  connect(destination: never): unknown;
  disconnect(): void;
  start(when: number): void;
  stop(): void;
}

/** The part of an AudioContext the scheduler uses. */
export interface SchedulerContext<B extends ScheduledBuffer> {
  readonly currentTime: number;
  readonly sampleRate: number;
  createBufferSource(): SourceNodeLike<B>;
}

/** How a segment relates to the one scheduled before it. */
export type SegmentBoundary = 'start' | 'continuous' | 'gap' | 'discontinuity';

/** What the scheduler needs to know about a segment besides its audio. */
export interface SegmentTiming {
  seq: number;
  /** Station time of its first sample, in ms since the epoch (the manifest's `startedAt`). */
  startedAtMs: number;
  boundary: SegmentBoundary;
}

/** Counters the player reports in `stats`. */
export interface SchedulerStats {
  segmentsPlayed: number;
  underruns: number;
  gaps: number;
  discontinuities: number;
}

/** Timing policy, in seconds. */
export interface SchedulerOptions {
  /** How far ahead of `currentTime` a new run starts, so its first samples are not already late. */
  startLeadSeconds: number;
}

/** Counters at zero. */
export function emptySchedulerStats(): SchedulerStats {
  return { segmentsPlayed: 0, underruns: 0, gaps: 0, discontinuities: 0 };
}

const DEFAULT_OPTIONS: SchedulerOptions = { startLeadSeconds: 0.05 };

interface Scheduled<B extends ScheduledBuffer> {
  source: SourceNodeLike<B>;
  timing: SegmentTiming;
  startFrame: number;
  frames: number;
}

/**
 * Keeps the context frame where the next segment must start. A segment that continues the run starts
 * exactly there (frames, not float seconds, are summed, so there is no drift); a gap, a discontinuity
 * or a late arrival (underrun) starts a new run a little ahead of now. Played sources are disconnected
 * and their buffers dropped, so memory stays flat however long the listener stays.
 */
export class AudioScheduler<B extends ScheduledBuffer> {
  readonly stats: SchedulerStats;
  readonly #context: SchedulerContext<B>;
  readonly #destination: unknown;
  readonly #options: SchedulerOptions;
  #nextFrame: number | undefined;
  #scheduled: Scheduled<B>[] = [];

  /** `stats` may be shared with an earlier scheduler, so counts survive a new AudioContext. */
  constructor(context: SchedulerContext<B>, destination: unknown, options: Partial<SchedulerOptions> = {}, stats: SchedulerStats = emptySchedulerStats()) {
    this.stats = stats;
    this.#context = context;
    this.#destination = destination;
    this.#options = { ...DEFAULT_OPTIONS, ...options };
  }

  /** Schedules one decoded segment; returns the context time it starts at. */
  schedule(buffer: B, timing: SegmentTiming): number {
    const rate = this.#context.sampleRate;
    if (buffer.sampleRate !== rate) throw new RangeError(`segment decoded at ${buffer.sampleRate} Hz, the context runs at ${rate} Hz`);
    if (timing.boundary === 'gap') this.stats.gaps++;
    if (timing.boundary === 'discontinuity') this.stats.discontinuities++;
    const earliest = Math.ceil((this.#context.currentTime + this.#options.startLeadSeconds) * rate);
    let startFrame: number;
    if (this.#nextFrame === undefined) {
      startFrame = earliest;
    } else if (timing.boundary === 'continuous') {
      // Late means its slot began before the lead: the listener heard silence. Start anew from now.
      const late = this.#nextFrame / rate < this.#context.currentTime;
      if (late) this.stats.underruns++;
      startFrame = late ? earliest : this.#nextFrame;
    } else {
      // A new run plays after what is queued (nothing is cut), or from now if the queue ran dry.
      startFrame = Math.max(this.#nextFrame, earliest);
    }
    const source = this.#context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.#destination as never);
    const entry: Scheduled<B> = { source, timing, startFrame, frames: buffer.length };
    source.onended = () => this.#release(entry, true);
    const when = startFrame / rate;
    source.start(when);
    this.#scheduled.push(entry);
    this.#nextFrame = startFrame + buffer.length;
    return when;
  }

  /** Seconds of audio scheduled ahead of the context's current time. */
  get bufferedSeconds(): number {
    if (this.#nextFrame === undefined || this.#scheduled.length === 0) return 0;
    return Math.max(0, this.#nextFrame / this.#context.sampleRate - this.#context.currentTime);
  }

  /** Station time (ms since the epoch) of the sample playing now, or undefined when nothing plays. */
  get playheadStationTimeMs(): number | undefined {
    const rate = this.#context.sampleRate;
    const nowFrame = this.#context.currentTime * rate;
    const playing = this.#scheduled.find((s) => s.startFrame <= nowFrame && nowFrame < s.startFrame + s.frames);
    return playing && playing.timing.startedAtMs + ((nowFrame - playing.startFrame) / rate) * 1000;
  }

  /** How many segments are queued or playing (their buffers are held until they end). */
  get heldSegments(): number {
    return this.#scheduled.length;
  }

  /** Stops and releases everything; the next segment starts a new run. */
  stop(): void {
    for (const entry of [...this.#scheduled]) {
      entry.source.onended = null;
      entry.source.stop();
      this.#release(entry, false);
    }
    this.#nextFrame = undefined;
  }

  #release(entry: Scheduled<B>, played: boolean): void {
    const index = this.#scheduled.indexOf(entry);
    if (index === -1) return;
    this.#scheduled.splice(index, 1);
    if (played) this.stats.segmentsPlayed++;
    entry.source.onended = null;
    entry.source.disconnect();
    entry.source.buffer = null;
  }
}
