import { MULTIVARIANT_KEY, STREAM_NAMES, type Manifest, type StreamName } from '@radio/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { chooseStream, hqBitrate, ThroughputEstimator, type Quality } from './abr.ts';
import { createAudioOutput, type AudioOutput } from './audio-output.ts';
import type { PlayerEventMap, PlayerEvents, PlayerState } from './events.ts';
import { LATENCY_POLICY, LatencyControl } from './latency-control.ts';
import type { LiveClock } from './live-clock.ts';
import { bufferedAhead, joinPoint, nextSegment, segmentSpan, spans, type MediaSpan, type NextSegment } from './live-edge.ts';
import { pollRetryMs } from './manifest-poll-controller.ts';
import { MediaAppendError, MediaBuffer } from './media-buffer.ts';
import { mseEngine, type MseEngine } from './media-support.ts';
import { cmafProblem } from './mp4-boxes.ts';
import { withOpusPreroll } from './opus-preroll.ts';
import { PlayheadWatch } from './playhead-watch.ts';
import { problem, unexpectedProblem, type PlayerProblem } from './player-problem.ts';
import { LoadingWatchdog, playerStatus } from './player-status.ts';
import { loadSegment, SegmentLoadError, type SegmentLoadPolicy } from './segment-loader.ts';

/** Segment download policy for a given segment length: a segment later than its own length is useless. */
function segmentLoadPolicy(segmentSeconds: number): SegmentLoadPolicy {
  return { timeoutMs: Math.max(4000, segmentSeconds * 1000), retries: 2, retryDelayMs: 250 };
}

/** How often the element's progress is checked (stalls, gaps to jump, segments played). */
const TICK_MS = 250;
/** Loading (tuning in, or buffering) this long with no cause known, the player starts its element afresh: at least this, or three segments. */
const STUCK_MS = 8000;
/** After the element's own HLS player failed, it is started again no sooner than this. */
const HLS_RETRY_MS = 10_000;
/** Auto takes HQ when a segment of it downloads within this fraction of the latency's margin. */
const DOWNLOAD_BUDGET = 0.75;
/** Played media kept behind the playhead; older is removed from the buffer. */
const BACK_BUFFER_SECONDS = 10;

/** Counters the player reports in `stats`. */
export interface PlaybackCounters {
  segmentsPlayed: number;
  underruns: number;
  gaps: number;
  discontinuities: number;
}

/** Playback counters and gauges, as the element's `stats` reports them. */
export interface PlaybackStats extends PlaybackCounters {
  bufferedSeconds: number;
  latencySeconds: number;
  bytesLoaded: number;
}

/** One listening session: one media element, fed through MSE (or, without it, by its own HLS player). */
interface Session {
  audio: HTMLAudioElement;
  abort: AbortController;
  /** undefined: native HLS (`audio.src` is the playlist). */
  engine: MseEngine | undefined;
  /** The MediaSource attached now; replaced after the browser refused media. */
  buffer: Promise<MediaBuffer> | undefined;
  opened: MediaBuffer | undefined;
  /** Seek to the first segment appended to a fresh MediaSource. */
  seekPending: boolean;
  /** Inits of the runs, by URL: fetched once per session. */
  inits: Map<string, Promise<ArrayBuffer>>;
  playhead: PlayheadWatch;
  /** The latency this session aims at, and how it keeps it. */
  latency: LatencyControl;
  /** The playhead was just placed (a join, a jump) and has not moved since. */
  placed: boolean;
  /** Paused on purpose: placed ahead of where it should play (a new run began later than that). */
  holding: boolean;
  /** The browser refused to start the element (autoplay policy): the listener has to tap. */
  refused: boolean;
  watchdog: LoadingWatchdog;
  output: AudioOutput | undefined;
  timer: ReturnType<typeof setInterval>;
  /** Native HLS: not before this (performance.now()) is the element's player started again after it failed. */
  hlsRetryAt: number;
}

/**
 * Turns manifests into sound through one `<audio>` element: picks the next segment (live edge, gaps,
 * discontinuities) and the stream (what the browser plays, quality, ABR), downloads it and appends it
 * with the run's init to one SourceBuffer, inside an append window of its exact samples; jumps the
 * playhead over gaps in the timeline. Owns the listener-facing state (from the element's progress)
 * and announces it through the player's events.
 */
export class PlaybackController implements ReactiveController {
  quality: Quality = 'auto';
  readonly #events: PlayerEvents;
  readonly #clock: LiveClock;
  readonly #throughput = new ThroughputEstimator();
  readonly #counters: PlaybackCounters = { segmentsPlayed: 0, underruns: 0, gaps: 0, discontinuities: 0 };
  #bytesLoaded = 0;
  #session: Session | undefined;
  #manifestUrl = '';
  #manifest: Manifest | undefined;
  #lastSeq: number | undefined;
  #skipped = false;
  #pumping = false;
  #stationProblem: PlayerProblem | undefined;
  #segmentProblem: PlayerProblem | undefined;
  #state: PlayerState = 'idle';
  #buffering = false;
  #volume = 1;
  #muted = false;

  /** `clock`: where the live edge is (the manifest poll keeps it). */
  constructor(host: ReactiveControllerHost, events: PlayerEvents, clock: LiveClock) {
    this.#events = events;
    this.#clock = clock;
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

  /** True while loading after playback had begun: the element stalled. */
  get buffering(): boolean {
    return this.#buffering;
  }

  /**
   * What the listener hears, as an AudioNode; created on first use (from then on the element plays
   * through it), undefined while idle or when the browser has no Web Audio.
   */
  get output(): AudioNode | undefined {
    return this.#outputOf(this.#session)?.node;
  }

  /**
   * An analyser on the output for the level meter, where tapping the output costs nothing: not with
   * ManagedMediaSource or native HLS (iPhone), where the element alone plays on with the screen locked
   * and Web Audio would not. It taps an output someone else created there too.
   */
  get analyser(): AnalyserNode | undefined {
    const session = this.#session;
    if (!session || (!session.output && (!session.engine || session.engine.managed))) return undefined;
    return this.#outputOf(session)?.analyser;
  }

  get stats(): PlaybackStats {
    const session = this.#session;
    const position = session?.audio.currentTime ?? 0;
    const buffered = session ? (session.engine ? (session.opened?.buffered ?? []) : spans(session.audio.buffered)) : [];
    return {
      ...this.#counters,
      bufferedSeconds: session?.playhead.playedAny ? bufferedAhead(buffered, position) : 0,
      latencySeconds: this.#latencySeconds(),
      bytesLoaded: this.#bytesLoaded,
    };
  }

  /**
   * Starts a listening session at the live edge. Call it from the listener's gesture: the element's
   * play() (and the meter's AudioContext) start here, synchronously, so the browser lets them sound.
   */
  play(manifestUrl: string): void {
    this.stop();
    this.#manifestUrl = manifestUrl;
    const audio = new Audio();
    audio.volume = this.#volume;
    audio.muted = this.#muted;
    const engine = mseEngine();
    const session: Session = {
      audio, engine, abort: new AbortController(), buffer: undefined, opened: undefined, seekPending: true, inits: new Map(),
      playhead: new PlayheadWatch(), latency: new LatencyControl((segmentSeconds) => pollRetryMs(segmentSeconds) / 1000), placed: false, holding: false,
      refused: false, watchdog: new LoadingWatchdog(), output: undefined, timer: setInterval(() => this.#tick(session), TICK_MS), hlsRetryAt: 0,
    };
    this.#session = session;
    for (const type of ['waiting', 'playing', 'seeked', 'timeupdate'] as const) audio.addEventListener(type, () => this.#tick(session));
    audio.addEventListener('error', () => this.#onMediaError(session));
    if (engine) {
      this.#attachSource(session);
    } else {
      // The bucket's CORS rule lets Web Audio read the element's sound (else the output is silence).
      audio.crossOrigin = 'anonymous';
      audio.src = new URL(MULTIVARIANT_KEY, manifestUrl).href;
    }
    this.#startElement(session);
    // The meter's output, where there is one, is made now: inside the gesture its AudioContext may run.
    void this.analyser;
    this.#updateState();
  }

  /** Stops the sound and every download; the next {@link play} starts again at the live edge. */
  stop(): void {
    const session = this.#session;
    this.#session = undefined;
    if (session) {
      session.abort.abort(new DOMException('playback stopped', 'AbortError'));
      clearInterval(session.timer);
      session.audio.pause();
      session.audio.removeAttribute('src');
      session.audio.load();
      session.output?.close();
    }
    this.#lastSeq = undefined;
    this.#skipped = this.#buffering = false;
    this.#stationProblem = this.#segmentProblem = undefined;
    this.#updateState();
  }

  /**
   * Lets the sound out where the browser held it back (the `blocked` state): starts the element and
   * resumes its AudioContext. Call it from the listener's tap.
   */
  resume(): void {
    const session = this.#session;
    if (!session) return;
    session.refused = false;
    void session.output?.context.resume();
    if (!session.holding) this.#startElement(session);
    this.#updateState();
  }

  /** Sets the output level (0..1) and mute, on the element (so the output node carries them too). */
  setVolume(volume: number, muted: boolean): void {
    this.#volume = volume;
    this.#muted = muted;
    if (this.#session) {
      this.#session.audio.volume = volume;
      this.#session.audio.muted = muted;
    }
  }

  readonly #onManifest = ({ manifest }: PlayerEventMap['manifest']): void => {
    const session = this.#session;
    if (!session) return;
    this.#manifest = manifest;
    this.#stationProblem = undefined;
    // The element's own HLS player stops at the playlist's end or on an error: start it again (after an error, not at once).
    if (!session.engine && (session.audio.ended || session.audio.error) && performance.now() >= session.hlsRetryAt) {
      session.audio.load();
      this.#startElement(session);
    }
    this.#updateState();
    void this.#pump();
  };

  readonly #onManifestProblem = (event: PlayerEventMap['manifest-problem']): void => {
    if (!this.#session) return;
    this.#stationProblem = event.problem;
    this.#updateState();
  };

  #outputOf(session: Session | undefined): AudioOutput | undefined {
    if (!session) return undefined;
    if (!session.output) {
      try {
        session.output = createAudioOutput(session.audio);
        // A suspended context (an autoplay policy, an OS interruption) silences the element: shown as blocked.
        session.output.context.addEventListener('statechange', () => this.#tick(session));
      } catch {
        // No Web Audio here: the element still plays, there is just no node to hand out.
      }
    }
    return session.output;
  }

  /** Attaches a fresh MediaSource to the element (at the start, and after the browser refused media). */
  #attachSource(session: Session): void {
    const engine = session.engine!;
    const source = engine.create();
    // Safari opens a ManagedMediaSource only for an element that cannot be played remotely (AirPlay).
    if (engine.managed) session.audio.disableRemotePlayback = true;
    const url = URL.createObjectURL(source);
    session.opened = undefined;
    session.seekPending = true;
    const opening: Promise<MediaBuffer> = MediaBuffer.open(source, () => (session.audio.src = url), session.abort.signal).then((buffer) => {
      URL.revokeObjectURL(url);
      if (session.buffer === opening) session.opened = buffer;
      return buffer;
    });
    session.buffer = opening;
    session.playhead.moved(session.audio.currentTime, true);
    // A stop before it opened must not leave a rejection unhandled.
    opening.catch(() => undefined);
  }

  #startElement(session: Session): void {
    session.audio.play().then(
      () => {
        if (session !== this.#session || !session.refused) return;
        session.refused = false;
        this.#updateState();
      },
      (error: unknown) => {
        // AbortError: the source was replaced before playback began; the next start follows.
        if (session !== this.#session || (error as Error).name === 'AbortError') return;
        // NotAllowedError: an autoplay policy wants a tap (the `blocked` state); anything else is a failure.
        if ((error as Error).name === 'NotAllowedError') session.refused = true;
        else this.#segmentProblem = problem('audio-unavailable', `This browser did not start the sound (${(error as Error).message}); press Stop, then Play.`);
        this.#updateState();
      },
    );
  }

  /** The element reported a media error: name the segment playing, and start afresh after it. */
  #onMediaError(session: Session): void {
    const error = session.audio.error;
    if (session !== this.#session || !error) return;
    if (!session.engine) {
      this.#segmentProblem = problem('segment-undecodable', `The station's HLS stream could not be played (${error.message || `media error ${error.code}`}).`);
      session.hlsRetryAt = performance.now() + HLS_RETRY_MS;
    } else {
      this.#segmentProblem = problem('segment-undecodable', `The media at ${session.audio.currentTime.toFixed(1)} s could not be decoded (${error.message || `media error ${error.code}`}).`);
      this.#skipped = true;
      this.#attachSource(session);
      this.#startElement(session);
      void this.#pump();
    }
    this.#updateState();
  }

  /** Appends segments one after another while the manifest lists newer ones; one pump at a time. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const session = this.#session;
        const manifest = this.#manifest;
        if (!session?.engine || !manifest || session.abort.signal.aborted) return;
        const types = session.engine.types;
        const stream = chooseStream(this.quality, this.#throughput.bitsPerSecond, hqBitrate(manifest), STREAM_NAMES.filter((s) => types[s]), {
          segmentSeconds: manifest.segmentSeconds,
          budgetSeconds: DOWNLOAD_BUDGET * LATENCY_POLICY.marginSeconds,
        });
        const join = joinPoint(manifest, this.#target(session, manifest) ?? -Infinity);
        const next = nextSegment(manifest.streams[stream].segments, this.#lastSeq, join?.index ?? 0, this.#skipped);
        if (!next) return;
        await this.#appendSegment(session, manifest, stream, types[stream]!, next);
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') this.#unexpected(error);
    } finally {
      this.#pumping = false;
    }
  }

  /** A failure of the player's own: the error state says so, and the next manifest tries again. */
  #unexpected(error: unknown): void {
    console.error('radio-player:', error);
    this.#segmentProblem = unexpectedProblem(error);
    this.#updateState();
  }

  async #appendSegment(session: Session, manifest: Manifest, stream: StreamName, type: string, { entry, boundary }: NextSegment): Promise<void> {
    const signal = session.abort.signal;
    const label = `${stream} segment ${entry.seq}`;
    const policy = segmentLoadPolicy(manifest.segmentSeconds);
    try {
      const initUrl = new URL(entry.init, this.#manifestUrl).href;
      // A switch to LQ in the middle of a run starts a new Opus decoder: it gets the end of the LQ fragment before as preroll.
      const switchedType = session.opened?.type;
      const prerollFrom = stream === 'lq' && boundary === 'continuous' && switchedType !== undefined && switchedType !== type
        ? manifest.streams.lq.segments.find((s) => s.seq === entry.seq - 1 && s.init === entry.init)
        : undefined;
      const [init, fragment, previous] = await Promise.all([
        this.#loadInit(session, initUrl, policy, `${stream} init ${entry.init}`),
        loadSegment(new URL(entry.uri, this.#manifestUrl).href, { policy, signal, label }),
        prerollFrom && this.#loadPreroll(new URL(prerollFrom.uri, this.#manifestUrl).href, policy, signal, `lq segment ${prerollFrom.seq}`),
      ]);
      this.#bytesLoaded += fragment.bytes.byteLength;
      this.#throughput.add(fragment.bytes.byteLength, fragment.seconds);
      // Bytes that are not whole boxes would vanish into the SourceBuffer's parser without an error.
      const unreadable = cmafProblem(init, 'init') ?? cmafProblem(fragment.bytes, 'fragment');
      if (unreadable) throw new SegmentLoadError(problem('segment-undecodable', `The ${label} could not be decoded (${unreadable}).`));
      let buffer = await session.buffer!;
      signal.throwIfAborted();
      // Without changeType, the other stream needs a MediaSource of its own.
      if (!buffer.accepts(type)) {
        this.#attachSource(session);
        this.#startElement(session);
        buffer = await session.buffer!;
      }
      const span = segmentSpan(entry, manifest);
      const bytes = (previous && withOpusPreroll(fragment.bytes, previous)) || fragment.bytes;
      await buffer.append({ type, initId: initUrl, init, fragment: bytes, window: span }).catch((error: unknown) => {
        if (!(error instanceof MediaAppendError)) throw error;
        // The browser ends a MediaSource that was given media it cannot read: continue on a new one.
        if (error.fatal) {
          this.#attachSource(session);
          this.#startElement(session);
        }
        throw new SegmentLoadError(problem('segment-undecodable', `The ${label} could not be decoded (${error.message}).`));
      });
      // A stopped session's late result must not touch the next session.
      signal.throwIfAborted();
      if (boundary === 'gap') this.#counters.gaps++;
      if (boundary === 'discontinuity') this.#counters.discontinuities++;
      session.playhead.appended(span);
      if (session.seekPending) {
        // Where it should play now (the download took a while), within what was appended.
        session.seekPending = false;
        this.#place(session, within(span, this.#target(session, manifest) ?? span.start));
      }
      this.#skipped = false;
      this.#segmentProblem = undefined;
      void buffer.removeBefore(session.audio.currentTime - BACK_BUFFER_SECONDS).catch(() => undefined);
    } catch (error) {
      signal.throwIfAborted();
      if (!(error instanceof SegmentLoadError)) throw error;
      this.#skipped = true;
      this.#segmentProblem = error.problem;
    }
    this.#lastSeq = entry.seq;
    this.#updateState();
  }

  /** The fragment whose end becomes a preroll; without it the switch is only less smooth, so a failure is no problem. */
  async #loadPreroll(url: string, policy: SegmentLoadPolicy, signal: AbortSignal, label: string): Promise<ArrayBuffer | undefined> {
    try {
      const { bytes } = await loadSegment(url, { policy: { ...policy, retries: 0 }, signal, label });
      this.#bytesLoaded += bytes.byteLength;
      return bytes;
    } catch (error) {
      signal.throwIfAborted();
      if (error instanceof SegmentLoadError) return undefined;
      throw error;
    }
  }

  #loadInit(session: Session, url: string, policy: SegmentLoadPolicy, label: string): Promise<ArrayBuffer> {
    let init = session.inits.get(url);
    if (!init) {
      init = loadSegment(url, { policy, signal: session.abort.signal, label }).then((loaded) => {
        this.#bytesLoaded += loaded.bytes.byteLength;
        return loaded.bytes;
      });
      session.inits.set(url, init);
      // A failed download is tried again with the next segment of its run.
      init.catch(() => session.inits.delete(url));
    }
    return init;
  }

  /** Moves the playhead (a join, a jump over a gap, a catch-up); the latency control then sees it placed. */
  #place(session: Session, position: number): void {
    session.audio.currentTime = position;
    session.placed = true;
    // A seek is not progress: `playing` waits for the element to move on from there.
    session.playhead.moved(session.audio.currentTime);
  }

  /** Where the playhead should be now: the live edge less the latency the session aims at; undefined before the edge is known. */
  #target(session: Session, manifest: Manifest): number | undefined {
    const edge = this.#clock.edgeAt(performance.now());
    return edge === undefined ? undefined : edge - session.latency.latency(manifest.segmentSeconds);
  }

  /**
   * Follows the element: progress (the state), stalls (underruns), gaps to jump, segments played
   * through; and keeps the latency (playbackRate, a hold, a move).
   */
  #tick(session: Session): void {
    if (session !== this.#session) return;
    try {
      this.#look(session);
    } catch (error) {
      this.#unexpected(error);
    }
  }

  #look(session: Session): void {
    const buffered = session.opened?.buffered ?? [];
    const report = session.playhead.check(session.audio, buffered, performance.now(), !session.seekPending);
    if (report.jumpTo !== undefined) this.#place(session, report.jumpTo);
    if (session.playhead.advancing) session.placed = false;
    if (report.stalled && !this.#stationProblem && !session.holding) {
      this.#counters.underruns++;
      if (this.#manifest) session.latency.stalled(this.#manifest.segmentSeconds);
    }
    if (session.engine) this.#keepLatency(session, buffered);
    this.#counters.segmentsPlayed += report.played;
    this.#updateState();
    const limit = Math.max(STUCK_MS, 3 * (this.#manifest?.segmentSeconds ?? 0) * 1000);
    if (session.watchdog.stuck(this.#state === 'loading', performance.now(), limit)) this.#unstick(session, limit);
  }

  /** Nothing has played for `limitMs` though nothing is known to be wrong: says so, and starts the element afresh at the live edge. */
  #unstick(session: Session, limitMs: number): void {
    this.#segmentProblem = problem('audio-unavailable', `The sound has not come for ${Math.round(limitMs / 1000)} s though the station is on air; the player starts again.`);
    this.#lastSeq = undefined;
    this.#skipped = false;
    if (session.engine) this.#attachSource(session);
    else session.audio.load();
    this.#startElement(session);
    this.#updateState();
    void this.#pump();
  }

  #keepLatency(session: Session, buffered: readonly MediaSpan[]): void {
    const manifest = this.#manifest;
    const edge = this.#clock.edgeAt(performance.now());
    if (!manifest || edge === undefined || session.seekPending) return;
    const { audio } = session;
    const action = session.latency.update({ position: audio.currentTime, playing: session.playhead.advancing, placed: session.placed }, edge, manifest.segmentSeconds);
    if (audio.playbackRate !== action.rate) audio.playbackRate = action.rate;
    if (action.hold !== session.holding) {
      session.holding = action.hold;
      if (action.hold) audio.pause();
      else this.#startElement(session);
    }
    if (action.seekTo !== undefined && buffered.some((r) => r.start <= action.seekTo! && action.seekTo! < r.end)) {
      // What lies between is skipped: counted as a gap, unless nothing was heard yet.
      if (!session.placed) this.#counters.gaps++;
      this.#place(session, action.seekTo);
    }
  }

  #updateState(): void {
    const previous = { state: this.#state, buffering: this.#buffering, message: this.problem?.message };
    const session = this.#session;
    const status = playerStatus({
      listening: session !== undefined,
      stationProblem: this.#stationProblem,
      segmentProblem: this.#segmentProblem,
      blocked: session !== undefined && this.#held(session),
      advancing: session?.playhead.advancing ?? false,
      playedAny: session?.playhead.playedAny ?? false,
    });
    this.#state = status.state;
    this.#buffering = status.buffering;
    if (status.state !== previous.state || status.buffering !== previous.buffering || status.problem?.message !== previous.message) {
      this.#events.emit('state', status);
    }
  }

  /** The browser holds the sound back: it refused to start the element, paused it itself, or suspended its AudioContext. */
  #held(session: Session): boolean {
    if (session.holding) return false;
    const { audio, output } = session;
    const context = output?.context.state as string | undefined;
    return session.refused || (audio.paused && !audio.ended) || context === 'suspended' || context === 'interrupted';
  }

  /**
   * How far the sample playing now is behind the one the station captures now: the live edge (as
   * segments arrive) less the playhead, plus the station's own delay in publishing. Native HLS:
   * behind the end of what the element can seek to.
   */
  #latencySeconds(): number {
    const session = this.#session;
    if (!session?.playhead.playedAny) return 0;
    const { audio } = session;
    if (!session.engine) return audio.seekable.length ? Math.max(0, audio.seekable.end(audio.seekable.length - 1) - audio.currentTime) : 0;
    const edge = this.#clock.edgeAt(performance.now());
    return edge === undefined ? 0 : Math.max(0, edge - audio.currentTime + this.#clock.publishDelay);
  }
}

/** `position`, kept within `span`. */
function within(span: MediaSpan, position: number): number {
  return Math.min(Math.max(position, span.start), span.end);
}
