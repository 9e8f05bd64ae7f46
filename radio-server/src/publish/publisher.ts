import { MANIFEST_KEY, OBJECT_HEADERS, parseManifestText, segmentKey, STREAM_NAMES, type Manifest, type StreamName } from '@radio/protocol';
import type { EncodedSegment } from '../encode/segment-encoder.js';
import type { Logger } from '../ops/logger.js';
import { buildManifest, serializeManifest, type PublishedSegment, type StationDescription } from './manifest-builder.js';
import type { ObjectStore } from './object-store.js';
import { asStorageError } from './s3-errors.js';

/** What the pipeline knows of a segment besides its encoded files. */
export interface SegmentMeta {
  seq: number;
  samples: number;
  startedAt: Date;
  /** Set by the segmenter (start of a run, frames lost upstream); the publisher adds gaps in seq. */
  discontinuity: boolean;
}

export interface PublisherOptions {
  store: ObjectStore;
  station: StationDescription;
  /** Segments the manifest lists (protocol default 3). */
  window: number;
  /** Segments kept in the bucket past the window, for listeners holding an older manifest (default 2). */
  keepExtra: number;
  log: Logger;
  now?: () => Date;
}

/** Keys the publisher writes for segments (`hq/0000001041.flac`); anything else in the bucket is not ours. */
const SEGMENT_KEY = /^(?:hq\/(\d{10})\.flac|lq\/(\d{10})\.opus)$/;
const segmentKeys = (seq: number) => STREAM_NAMES.map((stream) => segmentKey(stream, seq));

/**
 * The live publication policy of docs/PROTOCOL.md. For each segment: PUT HQ and LQ in parallel, then the
 * manifest listing the newest `window` segments, then DELETE what fell out of window + keepExtra. Calls
 * run one after another in the order made, so `finish` follows any publish still in flight.
 */
export class Publisher {
  readonly #options: PublisherOptions;
  /** Stored segments not yet deleted, oldest first; the manifest lists the newest `window` of them. */
  #history: PublishedSegment[] = [];
  /** Keys of objects that no manifest lists (a half-stored segment, an old run's): deleted with the next round. */
  #orphans = new Set<string>();
  /** Seqs of an earlier run's segments past its window (its keepExtra): deleted by seq distance. */
  #keptPastWindow = new Set<number>();
  /** Seq of the segment stored last in this run; undefined until the first one (which is a discontinuity). */
  #lastSeq: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #started = false;

  constructor(options: PublisherOptions) {
    if (!Number.isInteger(options.window) || options.window < 1) throw new RangeError(`window must be a positive integer, got ${options.window}`);
    if (!Number.isInteger(options.keepExtra) || options.keepExtra < 0) throw new RangeError(`keepExtra must be a non-negative integer, got ${options.keepExtra}`);
    this.#options = options;
  }

  /**
   * Continues from the manifest already in the store, if any: its segments stay in the history (listed
   * until newer ones push them out, then deleted in due course) and their seqs are never reused.
   * Returns the seq to give the next segment: after the last listed one, and at least `floorSeq`.
   */
  resume(floorSeq: number): Promise<number> {
    if (this.#started) throw new Error('resume must come before the first publish');
    return this.#enqueue(() => this.#resume(floorSeq));
  }

  /**
   * Publishes one segment; throws a StorageError (and lists nothing of it) when one of its files cannot be
   * stored. Publishing the same segment again after a failure retries what is left to do.
   */
  publish(meta: SegmentMeta, encoded: readonly EncodedSegment[]): Promise<PublishedSegment> {
    this.#started = true;
    return this.#enqueue(() => this.#publish(meta, encoded));
  }

  /** Writes the manifest with `live: false` (the station is off air), still listing the last segments. */
  finish(): Promise<void> {
    return this.#enqueue(() => this.#writeManifest(false));
  }

  /** The segments the latest manifest lists (or will list), oldest first. */
  get listed(): readonly PublishedSegment[] {
    return this.#history.slice(-this.#options.window);
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #resume(floorSeq: number): Promise<number> {
    const { store, log } = this.#options;
    const body = await store.get(MANIFEST_KEY).catch((error: unknown) => {
      throw asStorageError(error, 'GET', MANIFEST_KEY);
    });
    if (!body) return floorSeq;
    const parsed = parseManifestText(Buffer.from(body).toString('utf8'));
    if (!parsed.ok) {
      log.warn({ key: MANIFEST_KEY }, `the stored manifest is unreadable (${parsed.error}); starting a new window at seq ${floorSeq}`);
      return floorSeq;
    }
    const old = parsed.manifest;
    const lastListed = old.streams.hq.segments.at(-1)?.seq;
    const nextSeq = lastListed === undefined ? floorSeq : Math.max(lastListed + 1, floorSeq);
    if (this.#sameFormat(old)) {
      this.#history = old.streams.hq.segments.map((hq, i) => ({
        seq: hq.seq,
        samples: hq.samples,
        startedAt: new Date(hq.startedAt),
        discontinuity: hq.discontinuity,
        bytes: { hq: hq.bytes, lq: old.streams.lq.segments[i]!.bytes },
      }));
    } else {
      // Segments of another length or format cannot share a manifest with the new ones.
      for (const s of old.streams.hq.segments) for (const key of segmentKeys(s.seq)) this.#orphans.add(key);
      log.info({ segments: old.streams.hq.segments.length }, 'the stored manifest describes another format: its segments are unlisted and deleted');
    }
    // Segments the old run kept past its window (keepExtra) stay until they are window + keepExtra behind
    // the newest, as if this run had published them; ones it stored without listing go at once.
    const kept = new Set(this.#history.flatMap((s) => segmentKeys(s.seq)));
    const firstListed = this.#history[0]?.seq ?? Infinity;
    for (const stream of STREAM_NAMES) {
      const stored = await store.list(`${stream}/`).catch((error: unknown) => {
        throw asStorageError(error, 'LIST', `${stream}/`);
      });
      for (const key of stored) {
        const match = SEGMENT_KEY.exec(key);
        const seq = match?.[1] ?? match?.[2];
        if (seq === undefined || kept.has(key)) continue;
        if (Number(seq) < firstListed) this.#keptPastWindow.add(Number(seq));
        else this.#orphans.add(key);
      }
    }
    log.info({ lastListedSeq: lastListed, nextSeq, listed: this.#history.length, unlisted: this.#orphans.size }, `resuming after the stored manifest: next seq ${nextSeq}`);
    return nextSeq;
  }

  #sameFormat(m: Manifest): boolean {
    const { station } = this.#options;
    return (
      m.segmentSeconds === station.segmentSeconds &&
      m.sampleRate === station.format.sampleRate &&
      m.channels === station.format.channels &&
      m.streams.hq.bitsPerSample === station.format.bitsPerSample
    );
  }

  async #publish(meta: SegmentMeta, encoded: readonly EncodedSegment[]): Promise<PublishedSegment> {
    const files = this.#filesOf(meta, encoded);
    const newest = this.#history.at(-1);
    if (newest?.seq === meta.seq && this.#lastSeq === meta.seq) {
      // A retry after the manifest failed: the files are stored, the manifest and deletions are left to do.
      await this.#writeManifest(true);
      await this.#deleteExpired();
      return newest;
    }
    if (newest && meta.seq <= newest.seq) throw new RangeError(`seq ${meta.seq} is not after the newest stored seq ${newest.seq}`);

    // 1. Both files, in parallel; wait for both so that no PUT is still in flight when this one fails.
    const puts = await Promise.allSettled(STREAM_NAMES.map((stream) => this.#options.store.put(segmentKey(stream, meta.seq), files[stream].bytes, OBJECT_HEADERS[stream])));
    const failed = puts.findIndex((p) => p.status === 'rejected');
    if (failed >= 0) {
      for (const key of segmentKeys(meta.seq)) this.#orphans.add(key);
      throw asStorageError((puts[failed] as PromiseRejectedResult).reason, 'PUT', segmentKey(STREAM_NAMES[failed]!, meta.seq));
    }
    const segment: PublishedSegment = {
      seq: meta.seq,
      samples: meta.samples,
      startedAt: meta.startedAt,
      discontinuity: meta.discontinuity || this.#lastSeq === undefined || meta.seq !== this.#lastSeq + 1,
      bytes: { hq: files.hq.bytes.length, lq: files.lq.bytes.length },
    };
    this.#history.push(segment);
    this.#lastSeq = meta.seq;
    for (const key of segmentKeys(meta.seq)) this.#orphans.delete(key);

    // 2. The manifest. If it fails, the segment stays stored and in the history: the next manifest lists it.
    await this.#writeManifest(true);

    // 3. What no manifest lists any more, beyond keepExtra.
    await this.#deleteExpired();
    return segment;
  }

  #filesOf(meta: SegmentMeta, encoded: readonly EncodedSegment[]): Record<StreamName, EncodedSegment> {
    const byStream = Object.fromEntries(encoded.map((e) => [e.stream, e])) as Partial<Record<StreamName, EncodedSegment>>;
    for (const stream of STREAM_NAMES) {
      const file = byStream[stream];
      if (!file || file.seq !== meta.seq || encoded.length !== STREAM_NAMES.length) {
        throw new Error(`publish: expected one encoded file per stream for seq ${meta.seq}`);
      }
    }
    return byStream as Record<StreamName, EncodedSegment>;
  }

  async #writeManifest(live: boolean): Promise<void> {
    const { store, station } = this.#options;
    const manifest = buildManifest(station, this.listed, live, (this.#options.now ?? (() => new Date()))());
    await store.put(MANIFEST_KEY, serializeManifest(manifest), OBJECT_HEADERS.manifest).catch((error: unknown) => {
      throw asStorageError(error, 'PUT', MANIFEST_KEY);
    });
  }

  async #deleteExpired(): Promise<void> {
    const { store, window, keepExtra, log } = this.#options;
    const expired = this.#history.slice(0, Math.max(0, this.#history.length - window - keepExtra));
    // Never delete what is still kept: a stray orphan key of a kept seq is spared.
    const kept = new Set(this.#history.slice(expired.length).flatMap((s) => segmentKeys(s.seq)));
    const newestSeq = this.#history.at(-1)?.seq ?? -Infinity;
    const agedOut = [...this.#keptPastWindow].filter((seq) => newestSeq - seq >= window + keepExtra);
    for (const seq of agedOut) this.#keptPastWindow.delete(seq);
    const keys = [...expired.flatMap((s) => segmentKeys(s.seq)), ...agedOut.flatMap(segmentKeys), ...this.#orphans].filter((key) => !kept.has(key));
    const results = await Promise.allSettled(keys.map((key) => store.delete(key)));
    const notDeleted = new Set(keys.filter((_, i) => results[i]!.status === 'rejected'));
    if (notDeleted.size > 0) log.warn({ keys: [...notDeleted] }, `${notDeleted.size} expired objects could not be deleted; trying again after the next segment`);
    this.#history = [...expired.filter((s) => segmentKeys(s.seq).some((key) => notDeleted.has(key))), ...this.#history.slice(expired.length)];
    this.#orphans = new Set([...this.#orphans, ...agedOut.flatMap(segmentKeys)].filter((key) => notDeleted.has(key)));
  }
}
