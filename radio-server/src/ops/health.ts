/** The parts of the station `/healthz` judges. */
export type HealthPart = 'capture' | 'encoding' | 'uploads' | 'archive' | 'clock';

/** One part's state, in words an operator can act on. */
export interface PartHealth {
  ok: boolean;
  detail: string;
}

/** The whole station's state: healthy when every part is. */
export interface HealthReport {
  ok: boolean;
  /** The parts that are not healthy, in the order of the pipeline. */
  failing: HealthPart[];
  parts: Record<HealthPart, PartHealth>;
}

/** When a part counts as failing. */
export interface HealthPolicy {
  /** Capture is failing when no block came for this long (a block is a few ms to 0.1 s of audio). */
  captureStaleMs: number;
  /** Encoding is failing when no segment was encoded for this long (default: 3 segment lengths). */
  encodeStaleMs: number;
  /** Uploads are failing after this many failed publishes in a row (each is retried every second or so). */
  uploadFailuresInARow: number;
  /** The clock is failing beyond this offset to the endpoint (the daemon passes publish/clock-offset's limit). */
  clockOffsetLimitMs: number;
  /** Uploads are failing when the store has not answered for this long while a segment waits (default: one segment length). */
  storeSilentMs: number;
}

export interface HealthOptions {
  segmentSeconds: number;
  /** This host's clock offset to the storage endpoint in ms (the store's signing clock). */
  clockOffsetMs?: () => number;
  /** The archive's state (see ArchiveRecorder.health); without it the part says there is no archive. */
  archive?: () => PartHealth;
  policy?: Partial<HealthPolicy>;
  /** A monotonic clock in ms; injected for tests. */
  now?: () => number;
}

const ago = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** R2 refuses requests about 5 minutes off its clock (publish/clock-offset's error threshold). */
const DEFAULT_CLOCK_OFFSET_LIMIT_MS = 5 * 60_000;

/**
 * The station's health as `/healthz` reports it, fed by the pipeline's events. Capture is judged by the
 * age of the last block, encoding by the age of the last segment, uploads by whether the station is on
 * air (connected), failures in a row (a single failure is retried and is not yet trouble) and how long
 * the store has been silent while a segment waits (a black hole fails nothing for a while), the archive
 * by its own report, the clock by its measured offset.
 */
export class Health {
  readonly #policy: HealthPolicy;
  readonly #now: () => number;
  readonly #clockOffsetMs: (() => number) | undefined;
  readonly #archive: (() => PartHealth) | undefined;
  readonly #segmentSeconds: number;
  readonly #startedAt: number;
  #onAir = false;
  /** Why the last connection attempt failed, and how many failed since the last success. */
  #notOnAir: { detail: string; attempts: number } | undefined;
  /** Why the station went off air (another daemon took over). */
  #offAir: string | undefined;
  #lastAnswered: number | undefined;
  #waiting = 0;
  #waitingSince: number | undefined;
  #lastCaptured: number | undefined;
  #firstCaptured: number | undefined;
  #lastEncoded: number | undefined;
  #lastPublished: { seq: number; seconds: number } | undefined;
  #failuresInARow = 0;
  #lastFailureCode = '';

  constructor(options: HealthOptions) {
    const segmentMs = options.segmentSeconds * 1000;
    this.#policy = { captureStaleMs: 5000, encodeStaleMs: 3 * segmentMs, uploadFailuresInARow: 3, clockOffsetLimitMs: DEFAULT_CLOCK_OFFSET_LIMIT_MS, storeSilentMs: segmentMs, ...options.policy };
    this.#now = options.now ?? (() => performance.now());
    this.#clockOffsetMs = options.clockOffsetMs;
    this.#archive = options.archive;
    this.#segmentSeconds = options.segmentSeconds;
    this.#startedAt = this.#now();
  }

  /** Connected to the store: segments are published from now on. */
  onAir(): void {
    this.#onAir = true;
    this.#notOnAir = undefined;
    this.#offAir = undefined;
    this.#lastAnswered = this.#now();
  }

  /** A connection attempt failed; `detail` says why in the operator's words. */
  connectFailed(detail: string): void {
    this.#onAir = false;
    this.#notOnAir = { detail, attempts: (this.#notOnAir?.attempts ?? 0) + 1 };
  }

  /** The station stopped publishing: `detail` says why (another daemon took over). */
  offAir(detail: string): void {
    this.#onAir = false;
    this.#offAir = detail;
  }

  /** Segments waiting to be published, the one being published included. */
  queued(segments: number): void {
    if (segments > 0 && this.#waiting === 0) this.#waitingSince = this.#now();
    if (segments === 0) this.#waitingSince = undefined;
    this.#waiting = segments;
  }

  /** A block of audio was captured. */
  captured(): void {
    this.#lastCaptured = this.#now();
    this.#firstCaptured ??= this.#lastCaptured;
  }

  /** A segment was encoded for every stream. */
  encoded(): void {
    this.#lastEncoded = this.#now();
  }

  /** Segment `seq` was published (files and manifest) in `seconds`. */
  published(seq: number, seconds: number): void {
    this.#lastPublished = { seq, seconds };
    this.#failuresInARow = 0;
    this.#onAir = true;
    this.#lastAnswered = this.#now();
  }

  /** A publish failed with this S3 or network error code; it will be retried. */
  uploadFailed(code: string): void {
    this.#failuresInARow++;
    this.#lastFailureCode = code;
  }

  /** Judges every part now. */
  report(): HealthReport {
    const archive = this.#archive?.() ?? { ok: true, detail: 'no archive' };
    const parts: Record<HealthPart, PartHealth> = { capture: this.#capture(), encoding: this.#encoding(), uploads: this.#uploads(), archive, clock: this.#clock() };
    const failing = (Object.keys(parts) as HealthPart[]).filter((part) => !parts[part].ok);
    return { ok: failing.length === 0, failing, parts };
  }

  #capture(): PartHealth {
    if (this.#lastCaptured === undefined) return { ok: false, detail: 'no audio captured yet' };
    const age = this.#now() - this.#lastCaptured;
    return age > this.#policy.captureStaleMs ? { ok: false, detail: `no audio captured for ${ago(age)}` } : { ok: true, detail: `last block ${ago(age)} ago` };
  }

  #encoding(): PartHealth {
    if (this.#firstCaptured === undefined) return { ok: true, detail: 'waiting for audio' };
    const since = this.#lastEncoded ?? this.#firstCaptured;
    const age = this.#now() - since;
    if (age > this.#policy.encodeStaleMs) return { ok: false, detail: `no segment encoded for ${ago(age)}` };
    return { ok: true, detail: this.#lastEncoded === undefined ? 'encoding the first segment' : `last segment encoded ${ago(age)} ago` };
  }

  #uploads(): PartHealth {
    const now = this.#now();
    if (!this.#onAir) {
      if (this.#offAir) return { ok: false, detail: `off air: ${this.#offAir}` };
      if (this.#notOnAir) return { ok: false, detail: `not on air (${this.#notOnAir.attempts} attempts to connect): ${this.#notOnAir.detail}` };
      const age = now - this.#startedAt;
      if (age > this.#policy.storeSilentMs) return { ok: false, detail: `not on air: the store has not answered for ${ago(age)}` };
      return { ok: true, detail: 'connecting to the store' };
    }
    const failures = this.#failuresInARow;
    if (failures >= this.#policy.uploadFailuresInARow) return { ok: false, detail: `${failures} publishes failed in a row, the last with ${this.#lastFailureCode}` };
    const silentFor = this.#waitingSince === undefined ? 0 : now - Math.max(this.#waitingSince, this.#lastAnswered ?? -Infinity);
    if (silentFor > this.#policy.storeSilentMs) {
      const failed = failures > 0 ? `, ${failures} failed (${this.#lastFailureCode})` : '';
      return { ok: false, detail: `the store has not answered for ${ago(silentFor)} (a segment is ${this.#segmentSeconds} s); ${this.#waiting} segments waiting${failed}` };
    }
    const last = this.#lastPublished;
    const published = last ? `segment ${last.seq} published in ${last.seconds.toFixed(2)} s` : 'nothing published yet';
    return { ok: true, detail: failures > 0 ? `${published}; ${failures} failed since (${this.#lastFailureCode}), retrying` : published };
  }

  #clock(): PartHealth {
    if (!this.#clockOffsetMs) return { ok: true, detail: 'offset not measured' };
    const offsetMs = this.#clockOffsetMs();
    const words = `offset to the endpoint ${offsetMs >= 0 ? '+' : ''}${(offsetMs / 1000).toFixed(1)} s`;
    const limit = this.#policy.clockOffsetLimitMs;
    return Math.abs(offsetMs) > limit ? { ok: false, detail: `${words}, over the ${limit / 60_000} min limit: NTP is broken on this host` } : { ok: true, detail: words };
  }
}
