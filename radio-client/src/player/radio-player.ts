import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { isQuality, type Quality } from './abr.ts';
import { PlayerEvents, type PlayerEventMap, type PlayerState } from './events.ts';
import { ManifestPollController } from './manifest-poll-controller.ts';
import { clearMediaSession, updateMediaSession } from './media-session.ts';
import { PlaybackController, type PlaybackStats } from './playback-controller.ts';
import type { PlayerProblem, ProblemKind } from './player-problem.ts';
import { radioPlayerStyles } from './radio-player-styles.ts';

/** Everything `stats` reports. */
export interface RadioPlayerStats extends PlaybackStats {
  manifestRequests: number;
  manifestNotModified: number;
}

/** Fired on the element whenever `state` changes; `message` is the sentence shown to the listener. */
export class RadioPlayerStateChangeEvent extends Event {
  constructor(
    readonly state: PlayerState,
    readonly message: string,
  ) {
    super('statechange');
  }
}

/** Fired on the element when it enters the error state; `message` says what is wrong, `kind` classifies it. */
export class RadioPlayerErrorEvent extends ErrorEvent {
  readonly kind: ProblemKind;
  constructor(problem: PlayerProblem) {
    super('error', { message: problem.message });
    this.kind = problem.kind;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'radio-player': RadioPlayer;
  }
  interface HTMLElementEventMap {
    statechange: RadioPlayerStateChangeEvent;
  }
}

const QUALITY_KEY = 'radio-player.quality';
const QUALITY_LABELS: Record<Quality, string> = { auto: 'Auto', hq: 'High (FLAC)', lq: 'Low (Opus)' };
const STATE_SENTENCES: Record<PlayerState, string> = {
  idle: 'Press Play to listen live.',
  loading: 'Tuning in…',
  playing: 'Playing live.',
  blocked: 'Tap to allow sound.',
  offline: 'Off air.',
  error: 'Something went wrong.',
};
/** The loading sentence once playback had begun: the element stalled and waits for audio. */
const BUFFERING_SENTENCE = 'Buffering…';
/** How often the figures under the controls (behind live, buffer) are refreshed. */
const DETAILS_REFRESH_MS = 500;
/** The meter shows this many dB below full scale as empty. */
const METER_FLOOR_DB = -60;

/**
 * `<radio-player src=".../manifest.json">`: plays a live station of the radio protocol through one
 * `<audio>` element (Media Source Extensions, else the element's own HLS). Renders state and
 * controls; the manifest-poll and playback controllers do the work.
 */
export class RadioPlayer extends LitElement {
  static override styles = radioPlayerStyles;
  static override properties = {
    src: { type: String },
    stationName: { type: String, attribute: 'station-name' },
  };

  /** URL of the station's manifest.json (absolute, or relative to the page). */
  declare src: string;
  /** Shown before the manifest names the station; the manifest's name wins once known. */
  declare stationName: string;

  readonly #events = new PlayerEvents();
  readonly #poll = new ManifestPollController(this, this.#events);
  readonly #playback = new PlaybackController(this, this.#events, this.#poll.clock);
  #quality: Quality = readStoredQuality();
  #volume = 1;
  #muted = false;
  #manifestStation: string | undefined;
  #detailsTimer: ReturnType<typeof setInterval> | undefined;
  #meterFrame: number | undefined;
  #meterSamples: Float32Array<ArrayBuffer> | undefined;

  constructor() {
    super();
    this.src = '';
    this.stationName = '';
    this.#playback.quality = this.#quality;
  }

  /** idle, loading, playing, offline or error. */
  get state(): PlayerState {
    return this.#playback.state;
  }

  /** `auto`, `hq` or `lq`; a change applies from the next segment and is remembered in localStorage. */
  get quality(): Quality {
    return this.#quality;
  }
  set quality(value: Quality) {
    if (!isQuality(value)) throw new TypeError(`quality must be auto, hq or lq, got ${String(value)}`);
    this.#quality = this.#playback.quality = value;
    storeQuality(value);
    this.requestUpdate();
  }

  /**
   * What the listener hears (after volume), as an AudioNode for visualisers; null while idle. Made on
   * first use: from then on the element's sound goes through it (and its AudioContext) to the speakers.
   */
  get output(): AudioNode | null {
    return this.#playback.output ?? null;
  }

  /** Counters and gauges of this player since the page loaded. */
  get stats(): RadioPlayerStats {
    return { ...this.#playback.stats, ...this.#poll.stats };
  }

  /** Starts listening at the live edge. Call it from a user gesture so the browser allows sound. */
  play(): void {
    const url = new URL(this.src, document.baseURI).href;
    this.#playback.setVolume(this.#volume, this.#muted);
    this.#playback.play(url);
    void this.#poll.start(url);
  }

  /** Stops the sound and the polling. */
  stop(): void {
    this.#poll.stop();
    this.#playback.stop();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#events.on('state', this.#onState);
    this.#events.on('manifest', this.#onManifest);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#events.off('state', this.#onState);
    this.#events.off('manifest', this.#onManifest);
    this.#stopRefreshing();
    clearMediaSession(this);
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('src') && changed.get('src') && this.state !== 'idle') this.play();
  }

  readonly #onState = ({ state, problem, buffering }: PlayerEventMap['state']): void => {
    this.requestUpdate();
    if (state === 'idle') this.#stopRefreshing();
    else this.#startRefreshing();
    this.#updateMediaSession();
    this.dispatchEvent(new RadioPlayerStateChangeEvent(state, this.#sentence(state, problem, buffering)));
    if (state === 'error' && problem) this.dispatchEvent(new RadioPlayerErrorEvent(problem));
  };

  readonly #onManifest = ({ manifest }: PlayerEventMap['manifest']): void => {
    if (manifest.station !== this.#manifestStation) {
      this.#manifestStation = manifest.station;
      this.requestUpdate();
      this.#updateMediaSession();
    }
  };

  /** The OS controls follow the state: playing (or about to) while listening, paused otherwise; Play and Pause/Stop act on the player. */
  #updateMediaSession(): void {
    const state = this.state;
    updateMediaSession({ station: this.#title() }, state === 'playing' || state === 'loading' ? 'playing' : 'paused', this);
  }

  #title(): string {
    return this.#manifestStation || this.stationName || 'Radio';
  }

  #startRefreshing(): void {
    this.#detailsTimer ??= setInterval(() => this.requestUpdate(), DETAILS_REFRESH_MS);
    this.#meterFrame ??= requestAnimationFrame(this.#drawMeter);
  }

  #stopRefreshing(): void {
    clearInterval(this.#detailsTimer);
    if (this.#meterFrame !== undefined) cancelAnimationFrame(this.#meterFrame);
    this.#detailsTimer = this.#meterFrame = undefined;
    this.#setMeter(0);
  }

  readonly #drawMeter = (): void => {
    this.#meterFrame = requestAnimationFrame(this.#drawMeter);
    const analyser = this.#playback.analyser;
    if (!analyser) return this.#setMeter(0);
    if (this.#meterSamples?.length !== analyser.fftSize) this.#meterSamples = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(this.#meterSamples);
    let sum = 0;
    for (const x of this.#meterSamples) sum += x * x;
    const db = 10 * Math.log10(sum / this.#meterSamples.length || 1e-12);
    this.#setMeter(Math.min(1, Math.max(0, 1 - db / METER_FLOOR_DB)));
  };

  #setMeter(level: number): void {
    const bar = this.renderRoot.querySelector<HTMLElement>('.level');
    if (bar) bar.style.transform = `scaleX(${level.toFixed(3)})`;
  }

  #togglePlay(): void {
    if (this.state === 'idle') this.play();
    else this.stop();
  }

  #setVolume(volume: number, muted: boolean): void {
    this.#volume = volume;
    this.#muted = muted;
    this.#playback.setVolume(volume, muted);
    this.requestUpdate();
  }

  override render() {
    const state = this.state;
    const problem = this.#playback.problem;
    const idle = state === 'idle';
    return html`
      <div part="player" class="player" data-state=${state}>
        <div part="header" class="header">
          <span part="station" class="station">${this.#title()}</span>
          ${state === 'playing' || state === 'offline'
            ? html`<span part="badge" class="badge" data-state=${state}>${state === 'playing' ? 'LIVE' : 'OFF AIR'}</span>`
            : nothing}
        </div>
        <div part="controls" class="controls">
          <button part="play-button" class="play" type="button" @click=${this.#togglePlay}>${idle ? 'Play' : 'Stop'}</button>
          ${state === 'blocked'
            ? html`<button part="unblock-button" class="play" type="button" @click=${() => this.#playback.resume()}>Allow sound</button>`
            : nothing}
          <button part="mute-button" type="button" aria-pressed=${this.#muted ? 'true' : 'false'} @click=${() => this.#setVolume(this.#volume, !this.#muted)}>
            ${this.#muted ? 'Unmute' : 'Mute'}
          </button>
          <label>
            Volume
            <input part="volume" type="range" min="0" max="1" step="0.05" .value=${String(this.#volume)}
              @input=${(e: Event) => this.#setVolume(Number((e.target as HTMLInputElement).value), this.#muted)} />
          </label>
          <label>
            Quality
            <select part="quality" @change=${(e: Event) => (this.quality = (e.target as HTMLSelectElement).value as Quality)}>
              ${(Object.keys(QUALITY_LABELS) as Quality[]).map(
                (q) => html`<option value=${q} ?selected=${q === this.#quality}>${QUALITY_LABELS[q]}</option>`,
              )}
            </select>
          </label>
        </div>
        <div part="meter" class="meter" aria-hidden="true"><div part="meter-level" class="level"></div></div>
        <p part="status" class="status" role="status">${this.#sentence(state, problem, this.#playback.buffering)}</p>
        ${state === 'playing' ? html`<p part="details" class="details">${this.#details()}</p>` : nothing}
      </div>
    `;
  }

  #sentence(state: PlayerState, problem: PlayerProblem | undefined, buffering: boolean): string {
    return problem?.message ?? (buffering ? BUFFERING_SENTENCE : STATE_SENTENCES[state]);
  }

  #details(): string {
    const { latencySeconds, bufferedSeconds } = this.#playback.stats;
    return `${latencySeconds.toFixed(1)} s behind live · buffer ${bufferedSeconds.toFixed(1)} s`;
  }
}

function readStoredQuality(): Quality {
  try {
    const stored = localStorage.getItem(QUALITY_KEY);
    return isQuality(stored) ? stored : 'auto';
  } catch {
    // Storage can be blocked (a sandboxed embed, strict privacy settings): fall back to the default.
    return 'auto';
  }
}

function storeQuality(quality: Quality): void {
  try {
    localStorage.setItem(QUALITY_KEY, quality);
  } catch {
    // Not remembered this time; the choice still applies.
  }
}
