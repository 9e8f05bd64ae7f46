import type { Manifest, StreamName } from '@radio/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { chooseStream, hqBitrate, ThroughputEstimator, type Quality } from './abr.ts';
import { AudioScheduler, emptySchedulerStats, type SchedulerStats } from './audio-scheduler.ts';
import type { PlayerEventMap, PlayerEvents, PlayerState } from './events.ts';
import { nextSegment, type NextSegment } from './live-edge.ts';
import { problem, type PlayerProblem } from './player-problem.ts';
import { loadSegment, SegmentLoadError, type SegmentLoadPolicy } from './segment-loader.ts';

/** Segment download policy for a given segment length: a segment later than its own length is useless. */
function segmentLoadPolicy(segmentSeconds: number): SegmentLoadPolicy {
  return { timeoutMs: Math.max(4000, segmentSeconds * 1000), retries: 2, retryDelayMs: 250 };
}

/** The rate a context is created at before the first manifest says otherwise: what the daemon captures at. */
const DEFAULT_SAMPLE_RATE = 48000;

/** Playback counters and gauges, as the element's `stats` reports them. */
export interface PlaybackStats extends SchedulerStats {
  bufferedSeconds: number;
  latencySeconds: number;
  bytesLoaded: number;
}

/** One listening session's audio graph: segments -> gain (volume, the player's output) -> speakers. */
interface AudioGraph {
  context: AudioContext;
  gain: GainNode;
  analyser: AnalyserNode;
  scheduler: AudioScheduler<AudioBuffer>;
  abort: AbortController;
}

/**
 * Turns manifests into sound: picks the next segment (live edge, gaps, discontinuities), the stream
 * (quality and ABR), downloads and decodes it and hands it to the {@link AudioScheduler}. Owns the
 * listener-facing state and announces it through the player's events.
 */
export class PlaybackController implements ReactiveController {
  quality: Quality = 'auto';
  readonly #events: PlayerEvents;
  readonly #throughput = new ThroughputEstimator();
  readonly #stats = emptySchedulerStats();
  #bytesLoaded = 0;
  #graph: AudioGraph | undefined;
  #manifestUrl = '';
  #manifest: Manifest | undefined;
  #lastSeq: number | undefined;
  #skipped = false;
  #scheduledAny = false;
  #pumping = false;
  #started = false;
  #stationProblem: PlayerProblem | undefined;
  #segmentProblem: PlayerProblem | undefined;
  #state: PlayerState = 'idle';
  #volume = 1;
  #muted = false;

  constructor(host: ReactiveControllerHost, events: PlayerEvents) {
    this.#events = events;
    host.addController(this);
  }

  hostConnected(): void {
    this.#events.on('manifest', this.#onManifest);
    this.#events.on('manifest-problem', this.#onManifestProblem);
  }

  hostDisconnected(): void {
    this.stop();
    this.#events.off('manifest', this.#onManifest);
    this.#events.off('manifest-problem', this.#onManifestProblem);
  }

  get state(): PlayerState {
    return this.#state;
  }

  /** Why the player is offline or in error; undefined otherwise. */
  get problem(): PlayerProblem | undefined {
    return this.#state === 'offline' || this.#state === 'error' ? (this.#stationProblem ?? this.#segmentProblem) : undefined;
  }

  /** The node the player sends to the speakers (after volume), while playing. */
  get output(): AudioNode | undefined {
    return this.#graph?.gain;
  }

  /** An analyser fed from the output, for the level meter. */
  get analyser(): AnalyserNode | undefined {
    return this.#graph?.analyser;
  }

  get stats(): PlaybackStats {
    const scheduler = this.#graph?.scheduler;
    return {
      ...this.#stats,
      bufferedSeconds: scheduler?.bufferedSeconds ?? 0,
      latencySeconds: this.#latencySeconds(),
      bytesLoaded: this.#bytesLoaded,
    };
  }

  /**
   * Starts a listening session at the live edge. Call it from the listener's gesture: the
   * AudioContext is created here, synchronously, so the browser lets it make sound.
   */
  play(manifestUrl: string): void {
    this.stop();
    this.#manifestUrl = manifestUrl;
    this.#started = true;
    this.#replaceGraph(this.#manifest?.sampleRate ?? DEFAULT_SAMPLE_RATE);
    this.#updateState();
  }

  /** Stops the sound and every download; the next {@link play} starts again at the live edge. */
  stop(): void {
    const graph = this.#graph;
    this.#graph = undefined;
    if (graph) this.#closeGraph(graph);
    this.#lastSeq = undefined;
    this.#started = this.#skipped = this.#scheduledAny = false;
    this.#stationProblem = this.#segmentProblem = undefined;
    this.#updateState();
  }

  /** Sets the output level (0..1) and mute. */
  setVolume(volume: number, muted: boolean): void {
    this.#volume = volume;
    this.#muted = muted;
    if (this.#graph) this.#graph.gain.gain.value = muted ? 0 : volume;
  }

  readonly #onManifest = ({ manifest }: PlayerEventMap['manifest']): void => {
    if (!this.#graph) return;
    this.#manifest = manifest;
    this.#stationProblem = undefined;
    // A context resamples each segment on its own (audible ticks), so it must run at the stream's rate.
    if (manifest.sampleRate !== this.#graph.context.sampleRate) this.#replaceGraph(manifest.sampleRate);
    this.#updateState();
    void this.#pump();
  };

  readonly #onManifestProblem = (event: PlayerEventMap['manifest-problem']): void => {
    if (!this.#graph) return;
    this.#stationProblem = event.problem;
    this.#updateState();
  };

  /** A new session graph at `sampleRate`; playback restarts at the live edge on it. */
  #replaceGraph(sampleRate: number): void {
    if (this.#graph) this.#closeGraph(this.#graph);
    this.#graph = undefined;
    this.#lastSeq = undefined;
    try {
      this.#graph = this.#createGraph(sampleRate);
    } catch (error) {
      this.#stationProblem = problem('audio-unavailable', `This browser cannot play audio here (${(error as Error).message}).`);
    }
  }

  #createGraph(sampleRate: number): AudioGraph {
    const context = new AudioContext({ sampleRate, latencyHint: 'playback' });
    void context.resume();
    const gain = new GainNode(context, { gain: this.#muted ? 0 : this.#volume });
    gain.connect(context.destination);
    const analyser = new AnalyserNode(context, { fftSize: 2048 });
    gain.connect(analyser);
    const scheduler = new AudioScheduler<AudioBuffer>(context, gain, {}, this.#stats);
    return { context, gain, analyser, scheduler, abort: new AbortController() };
  }

  #closeGraph(graph: AudioGraph): void {
    graph.abort.abort(new DOMException('playback stopped', 'AbortError'));
    graph.scheduler.stop();
    graph.gain.disconnect();
    void graph.context.close();
  }

  /** Loads segments one after another while the manifest lists newer ones; one pump at a time. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const graph = this.#graph;
        const manifest = this.#manifest;
        if (!graph || !manifest || graph.abort.signal.aborted) return;
        const stream = chooseStream(this.quality, this.#throughput.bitsPerSecond, hqBitrate(manifest));
        const next = nextSegment(manifest.streams[stream].segments, this.#lastSeq, this.#skipped);
        if (!next) return;
        await this.#playSegment(graph, manifest, stream, next);
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') throw error;
    } finally {
      this.#pumping = false;
    }
  }

  async #playSegment(graph: AudioGraph, manifest: Manifest, stream: StreamName, { entry, boundary }: NextSegment): Promise<void> {
    const signal = graph.abort.signal;
    const label = `${stream} segment ${entry.seq}`;
    try {
      const url = new URL(entry.uri, this.#manifestUrl).href;
      const loaded = await loadSegment(url, { policy: segmentLoadPolicy(manifest.segmentSeconds), signal, label });
      this.#bytesLoaded += loaded.bytes.byteLength;
      this.#throughput.add(loaded.bytes.byteLength, loaded.seconds);
      const buffer = await graph.context.decodeAudioData(loaded.bytes).catch((error: unknown) => {
        throw new SegmentLoadError(problem('segment-undecodable', `The ${label} could not be decoded (${(error as Error).message || 'unreadable audio'}).`));
      });
      // A stopped session's late result must not touch the next session.
      signal.throwIfAborted();
      graph.scheduler.schedule(buffer, { seq: entry.seq, startedAtMs: Date.parse(entry.startedAt), boundary });
      this.#skipped = false;
      this.#scheduledAny = true;
      this.#segmentProblem = undefined;
    } catch (error) {
      signal.throwIfAborted();
      if (!(error instanceof SegmentLoadError)) throw error;
      this.#skipped = true;
      this.#segmentProblem = error.problem;
    }
    this.#lastSeq = entry.seq;
    this.#updateState();
  }

  #updateState(): void {
    const previousProblem = this.problem;
    const previous = this.#state;
    const current = this.#stationProblem ?? this.#segmentProblem;
    if (!this.#started) this.#state = 'idle';
    else if (current) this.#state = current.offline ? 'offline' : 'error';
    else this.#state = this.#scheduledAny ? 'playing' : 'loading';
    if (this.#state !== previous || this.problem?.message !== previousProblem?.message) this.#events.emit('state', { state: this.#state, problem: this.problem });
  }

  /** How far the sample playing now is behind the newest one published, in station time. */
  #latencySeconds(): number {
    const playhead = this.#graph?.scheduler.playheadStationTimeMs;
    const newest = this.#manifest?.streams.lq.segments.at(-1);
    if (playhead === undefined || !newest || !this.#manifest) return 0;
    const liveEdgeMs = Date.parse(newest.startedAt) + (newest.samples / this.#manifest.sampleRate) * 1000;
    return Math.max(0, (liveEdgeMs - playhead) / 1000);
  }
}
