import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { MANIFEST_KEY, parseManifestText } from '@radio/protocol';
import type { EncodedSegment } from '../encode/segment-encoder.js';
import type { Logger } from '../ops/logger.js';
import { ClassifiedError } from '../shared/classified-error.js';
import type { SegmentMeta } from '../shared/segment-meta.js';
import type { ClockOffset } from './clock-offset.js';
import type { StationDescription } from './manifest-builder.js';
import type { ObjectStore } from './object-store.js';
import { Publisher } from './publisher.js';
import { asStorageError } from './s3-errors.js';
import { lockVerdict, parseStationLock, processAlive, STATION_LOCK_KEY, type StationLock } from './station-lock.js';

export interface StationOutletOptions {
  store: ObjectStore;
  /** Measured before the first PUT of each connection (unless measured within its interval), then kept current. */
  clockOffset?: ClockOffset;
  station: StationDescription;
  window: number;
  keepExtra: number;
  log: Logger;
  /** `--takeover`: go on air even while another daemon is. */
  takeover?: boolean;
  /** The endpoint's clock (ms), to judge how old the manifest is; default this host's plus the store's offset. */
  now?: () => number;
  /** Identity of this process in the lock; default a random id, this host, this pid. */
  me?: Omit<StationLock, 'since' | 'station'>;
  isAlive?: (pid: number) => boolean;
}

/** Another daemon is on air on the bucket: this one waits (see `lockVerdict`). */
export class AnotherDaemonLive extends ClassifiedError {
  override name = 'AnotherDaemonLive';
  constructor(message: string, offAir = false) {
    super(message, 'AnotherDaemonLive', { offAir });
  }
}

const textOf = (body: Uint8Array | undefined) => (body === undefined ? undefined : Buffer.from(body).toString('utf8'));

/**
 * The station's publishing stage: connects (clock offset, the station lock, the bucket's state through
 * {@link Publisher.resume}), then publishes each segment after checking that the lock is still this
 * daemon's, and signs off. A connection is made afresh (a new Publisher) whenever the station asks.
 */
export class StationOutlet {
  readonly #options: StationOutletOptions;
  readonly #me: Omit<StationLock, 'since' | 'station'>;
  #publisher: Publisher | undefined;

  constructor(options: StationOutletOptions) {
    this.#options = options;
    this.#me = options.me ?? { instance: randomUUID(), host: hostname(), pid: process.pid };
  }

  /** The Publisher of the current connection (tests, the operator's view). */
  get publisher(): Publisher | undefined {
    return this.#publisher;
  }

  async connect(floorSeq: number, signal: AbortSignal): Promise<number> {
    const { store, clockOffset, log, station } = this.#options;
    this.#publisher = undefined;
    if (clockOffset && !clockOffset.current) {
      // Before the first PUT: a skewed clock would have it refused.
      await clockOffset.probe();
      clockOffset.schedule();
    }
    const get = (key: string) => store.get(key, signal).catch((error: unknown) => {
      throw asStorageError(error, 'GET', key);
    });
    const [manifestText, lockText] = await Promise.all([get(MANIFEST_KEY).then(textOf), get(STATION_LOCK_KEY).then(textOf)]);
    const parsed = manifestText === undefined ? undefined : parseManifestText(manifestText);
    const verdict = lockVerdict({
      manifest: parsed?.ok ? parsed.manifest : undefined,
      lock: parseStationLock(lockText),
      me: this.#me,
      now: this.#options.now?.() ?? Date.now() + ((store as Partial<{ clockOffsetMs: number }>).clockOffsetMs ?? 0),
      staleAfterMs: Math.max(3 * station.segmentSeconds * 1000, 15_000),
      takeover: this.#options.takeover ?? false,
      isAlive: this.#options.isAlive ?? processAlive,
    });
    if (!verdict.onAir) throw new AnotherDaemonLive(verdict.message);
    if (verdict.note) log.warn(verdict.note);
    const publisher = new Publisher({ store, station, window: this.#options.window, keepExtra: this.#options.keepExtra, log });
    const next = await publisher.resume(floorSeq, signal);
    await this.#writeLock(signal);
    this.#publisher = publisher;
    return next;
  }

  async publish(meta: SegmentMeta, encoded: readonly EncodedSegment[], signal: AbortSignal): Promise<unknown> {
    const publisher = this.#connected();
    // Before any write: fragments of another daemon's seqs must never be overwritten (`--takeover`).
    const lock = parseStationLock(textOf(await this.#options.store.get(STATION_LOCK_KEY, signal).catch((error: unknown) => {
      throw asStorageError(error, 'GET', STATION_LOCK_KEY);
    })));
    if (!lock) await this.#writeLock(signal);
    else if (lock.instance !== this.#me.instance) {
      this.#publisher = undefined;
      throw new AnotherDaemonLive(`another radio-server took over this bucket and prefix: "${lock.station}" on host ${lock.host} (pid ${lock.pid}), on air since ${lock.since}`, true);
    }
    return publisher.publish(meta, encoded, signal);
  }

  async finish(signal: AbortSignal): Promise<void> {
    const publisher = this.#connected();
    await publisher.finish(signal);
    // Off air: the next daemon need not wait for the manifest to go stale. Only our own lock goes.
    try {
      const lock = parseStationLock(textOf(await this.#options.store.get(STATION_LOCK_KEY, signal)));
      if (lock?.instance === this.#me.instance) await this.#options.store.delete(STATION_LOCK_KEY, signal);
    } catch (error) {
      this.#options.log.debug({ err: error }, 'could not remove the station lock; the next daemon reads the manifest\'s live: false');
    }
  }

  #connected(): Publisher {
    if (!this.#publisher) throw new Error('StationOutlet: not connected');
    return this.#publisher;
  }

  async #writeLock(signal: AbortSignal): Promise<void> {
    const lock: StationLock = { ...this.#me, station: this.#options.station.station, since: new Date().toISOString() };
    await this.#options.store.put(STATION_LOCK_KEY, Buffer.from(`${JSON.stringify(lock)}\n`), { contentType: 'application/json', cacheControl: 'no-store' }, signal).catch((error: unknown) => {
      throw asStorageError(error, 'PUT', STATION_LOCK_KEY);
    });
  }
}
