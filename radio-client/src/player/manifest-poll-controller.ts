import { parseManifestText, type Manifest } from '@radio/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { delay, withTimeout } from './abortable.ts';
import type { PlayerEvents } from './events.ts';
import { LiveClock } from './live-clock.ts';
import { corsProblem, httpProblem, problem, unexpectedProblem, type PlayerProblem } from './player-problem.ts';

/** When to poll, as data. */
export interface ManifestPollPolicy {
  /** The shortest delay after a failure (then doubled per failure, up to `maxDelayMs`). */
  minDelayMs: number;
  /**
   * While live, a poll goes out when the next segment is due (by the live clock); while it is not
   * there yet, again every this fraction of `segmentSeconds`, within `retryMinMs` and `retryMaxMs`.
   */
  retryFraction: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** While off air or stalled: this many `segmentSeconds` between polls, at least `offlineMinDelayMs`. */
  offlineSegments: number;
  offlineMinDelayMs: number;
  /** After a failure: `minDelayMs` doubled per consecutive failure, up to `maxDelayMs`. */
  maxDelayMs: number;
  /** Delays vary by up to this fraction, so listeners knocked off together do not return together. */
  jitter: number;
  timeoutMs: number;
  /** A live manifest without a new segment for this many `segmentSeconds` means the station stalled. */
  staleAfterSegments: number;
}

/** The policy the player uses. */
export const MANIFEST_POLL_POLICY: ManifestPollPolicy = {
  minDelayMs: 1000,
  retryFraction: 1 / 8,
  retryMinMs: 250,
  retryMaxMs: 1000,
  offlineSegments: 2,
  offlineMinDelayMs: 4000,
  maxDelayMs: 30_000,
  jitter: 0.1,
  timeoutMs: 8000,
  staleAfterSegments: 3,
};

/** While live, how long (ms) between polls that find no new segment yet; also how late a segment may be seen. */
export function pollRetryMs(segmentSeconds: number, policy: ManifestPollPolicy = MANIFEST_POLL_POLICY): number {
  return Math.min(policy.retryMaxMs, Math.max(policy.retryMinMs, policy.retryFraction * segmentSeconds * 1000));
}

/** Injectable parts, for tests; the defaults are the browser's. */
export interface ManifestPollOptions {
  policy?: ManifestPollPolicy;
  fetch?: typeof fetch;
  /** The monotonic clock (ms). */
  now?: () => number;
  /** The wall clock (ms since 1970), only to seed the live clock. */
  wallNow?: () => number;
  random?: () => number;
}

/** Counters the player reports in `stats`. */
export interface ManifestPollStats {
  manifestRequests: number;
  manifestNotModified: number;
}

type PollOutcome = { manifest: Manifest; changed: boolean } | { problem: PlayerProblem };

/**
 * Polls the manifest with If-None-Match, validates it with the protocol module and reports through
 * the player's events: `manifest` while the station is live, `manifest-problem` when it is off air,
 * stalled, unreachable or unreadable. While live it polls on the segment clock: when the next segment
 * is due (see {@link LiveClock}, which it keeps), then every few hundred ms until it is there; slowly
 * while offline, backing off after failures. Weak and strong ETags alike go back as they came.
 */
export class ManifestPollController implements ReactiveController {
  readonly stats: ManifestPollStats = { manifestRequests: 0, manifestNotModified: 0 };
  /** Where the live edge is, from when segments arrived; the playback controller steers by it. */
  readonly clock = new LiveClock();
  readonly #events: PlayerEvents;
  readonly #policy: ManifestPollPolicy;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #wallNow: () => number;
  readonly #random: () => number;
  #abort: AbortController | undefined;
  #etag: string | undefined;
  #text: string | undefined;
  #manifest: Manifest | undefined;
  #newestSeq: number | undefined;
  #newestSeenAt = 0;
  #failures = 0;

  constructor(host: ReactiveControllerHost, events: PlayerEvents, options: ManifestPollOptions = {}) {
    this.#events = events;
    this.#policy = options.policy ?? MANIFEST_POLL_POLICY;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#now = options.now ?? (() => performance.now());
    this.#wallNow = options.wallNow ?? Date.now;
    this.#random = options.random ?? Math.random;
    host.addController(this);
  }

  /** Starts polling `url` now; a running poll of another URL stops first. Resolves when polling stops. */
  start(url: string): Promise<void> {
    this.stop();
    const abort = new AbortController();
    this.#abort = abort;
    return this.#loop(url, abort.signal).catch((error: unknown) => {
      if (!abort.signal.aborted) throw error;
    });
  }

  /** Stops polling and forgets the last manifest, so the next start fetches it afresh. */
  stop(): void {
    this.#abort?.abort(new DOMException('polling stopped', 'AbortError'));
    this.#abort = undefined;
    this.#etag = this.#text = this.#manifest = this.#newestSeq = undefined;
    this.#failures = 0;
    this.clock.reset();
  }

  hostDisconnected(): void {
    this.stop();
  }

  async #loop(url: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      let outcome: PollOutcome;
      let report: PollOutcome;
      try {
        outcome = await this.#poll(url, signal);
        signal.throwIfAborted();
        report = 'problem' in outcome ? outcome : this.#judge(outcome.manifest, outcome.changed);
      } catch (error) {
        // Anything else is a failure of the player's own: said, and tried again with backoff, never left unhandled.
        signal.throwIfAborted();
        outcome = report = { problem: unexpectedProblem(error) };
      }
      this.#failures = 'problem' in report && !report.problem.offline ? this.#failures + 1 : 0;
      if ('problem' in report) this.#events.emit('manifest-problem', report);
      else this.#events.emit('manifest', report);
      await delay(this.#nextDelay(outcome, report), signal);
    }
  }

  /** Off air and stalled are reported as problems; a live, moving manifest goes to playback. */
  #judge(manifest: Manifest, changed: boolean): PollOutcome {
    if (!manifest.live) return { problem: problem('off-air', 'Off air: the station is not broadcasting right now.') };
    this.clock.observe(manifest, this.#now(), this.#wallNow());
    const newest = manifest.streams.hq.segments.at(-1)?.seq;
    if (newest !== this.#newestSeq) {
      this.#newestSeq = newest;
      this.#newestSeenAt = this.#now();
    }
    const staleMs = this.#policy.staleAfterSegments * manifest.segmentSeconds * 1000;
    const quietMs = this.#now() - this.#newestSeenAt;
    if (quietMs > staleMs) {
      return { problem: problem('stalled', `Off air: the station has sent no new audio for ${Math.round(quietMs / 1000)} s.`) };
    }
    return { manifest, changed };
  }

  #nextDelay(fetched: PollOutcome, report: PollOutcome): number {
    const p = this.#policy;
    const segmentMs = 'manifest' in fetched ? fetched.manifest.segmentSeconds * 1000 : undefined;
    if ('manifest' in report) {
      // On the segment clock: when the next one is due, or soon again while it is late (or until one was seen arriving).
      const retryMs = pollRetryMs(report.manifest.segmentSeconds, p);
      // Half a retry after the due time: a segment rarely comes before its earliest, often a little after.
      const untilDue = (this.clock.nextDueAt() ?? -Infinity) + retryMs / 2 - this.#now();
      return Math.min(segmentMs!, Math.max(retryMs, untilDue));
    }
    let ms: number;
    if (report.problem.offline) ms = Math.max(p.offlineMinDelayMs, p.offlineSegments * (segmentMs ?? 0));
    else ms = p.minDelayMs * 2 ** (this.#failures - 1);
    const jittered = Math.min(ms, p.maxDelayMs) * (1 + p.jitter * (2 * this.#random() - 1));
    return Math.max(p.minDelayMs, jittered);
  }

  async #poll(url: string, signal: AbortSignal): Promise<PollOutcome> {
    this.stats.manifestRequests++;
    const request = withTimeout(signal, this.#policy.timeoutMs);
    try {
      // no-store: the browser's cache would turn the server's 304 into a 200 we could not count.
      const headers: HeadersInit = this.#etag ? { 'If-None-Match': this.#etag } : {};
      const response = await this.#fetch(url, { cache: 'no-store', headers, signal: request.signal });
      if (response.status === 304 && this.#manifest) {
        this.stats.manifestNotModified++;
        return { manifest: this.#manifest, changed: false };
      }
      if (!response.ok) return { problem: httpProblem('manifest', response.status) };
      const text = await response.text();
      signal.throwIfAborted();
      const parsed = parseManifestText(text);
      if (!parsed.ok) return { problem: problem('manifest-invalid', `The station published a manifest this player cannot read (${parsed.error}).`) };
      // Without an exposed ETag (a CORS rule lacking ExposeHeaders) polling still works, uncached.
      this.#etag = response.headers.get('ETag') ?? undefined;
      const changed = text !== this.#text;
      this.#text = text;
      this.#manifest = parsed.manifest;
      return { manifest: parsed.manifest, changed };
    } catch (error) {
      signal.throwIfAborted();
      if (request.timedOut) return { problem: problem('unreachable', `Off air: the station's storage did not answer within ${this.#policy.timeoutMs / 1000} s.`) };
      if (error instanceof TypeError) return { problem: await this.#diagnose(url, signal) };
      throw error;
    } finally {
      request.dispose();
    }
  }

  /**
   * A CORS refusal and an unreachable host look the same to script (a TypeError). An opaque no-cors
   * request tells them apart: it succeeds when the server answers but withholds CORS headers.
   */
  async #diagnose(url: string, signal: AbortSignal): Promise<PlayerProblem> {
    const request = withTimeout(signal, this.#policy.timeoutMs);
    try {
      await this.#fetch(url, { mode: 'no-cors', cache: 'no-store', signal: request.signal });
      return corsProblem();
    } catch {
      signal.throwIfAborted();
      return problem('unreachable', "Off air: the station's storage cannot be reached.");
    } finally {
      request.dispose();
    }
  }
}
