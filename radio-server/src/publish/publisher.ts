import { initKey, MANIFEST_KEY, MULTIVARIANT_KEY, OBJECT_HEADERS, parseManifestText, playlistKey, runOfInitKey, segmentKey, seqOfSegmentKey, STREAM_NAMES, type Manifest, type StreamName } from '@radio/protocol';
import { OPUS_FRAME } from '../encode/opus-init.js';
import type { EncodedSegment } from '../encode/segment-encoder.js';
import type { Logger } from '../ops/logger.js';
import { indexObjects, multivariantObject, type StoredObject } from './indexes.js';
import type { PublishedSegment, StationDescription } from './manifest-builder.js';
import type { ObjectStore } from './object-store.js';
import { discontinuitySequenceOf, estimatedBandwidth } from './playlists.js';
import { asStorageError } from './s3-errors.js';
import type { SegmentMeta } from '../shared/segment-meta.js';

export type { SegmentMeta };

export interface PublisherOptions {
  store: ObjectStore;
  station: StationDescription;
  /** Segments the manifest and playlists list (protocol default 3). */
  window: number;
  /** Segments kept in the bucket past the window, for listeners holding an older index (default 2). */
  keepExtra: number;
  log: Logger;
  now?: () => Date;
}

const segmentKeys = (seq: number) => STREAM_NAMES.map((stream) => segmentKey(stream, seq));
const initKeys = (run: number) => STREAM_NAMES.map((stream) => initKey(stream, run));

/**
 * The live publication policy of docs/PROTOCOL.md. Per run, before its first segment: both inits (and
 * live.m3u8 when it changed). Per segment: both fragments in parallel, then both media playlists and the
 * manifest listing the newest `window` segments, then DELETE what fell out of window + keepExtra and the
 * inits no stored segment plays after. Calls run one after another in the order made, so `finish`
 * follows any publish still in flight. Each call's `signal` ends its requests at once (shutdown).
 */
export class Publisher {
  readonly #options: PublisherOptions;
  /** Stored segments not yet deleted, oldest first; the indexes list the newest `window` of them. */
  #history: PublishedSegment[] = [];
  /** Keys of objects that no index lists (a half-stored segment, an old run's): deleted with the next round. */
  #orphans = new Set<string>();
  /** Seqs of an earlier run's segments past its window (its keepExtra): deleted by seq distance. */
  #keptPastWindow = new Set<number>();
  /** Runs whose inits are in the bucket. */
  #storedInits = new Set<number>();
  /** Runs whose inits this process stored (or found identical): no second PUT. */
  #initsWritten = new Set<number>();
  /** Body of the stored live.m3u8, to PUT it only when it changes. */
  #multivariant: string | undefined;
  /** Seq of the segment stored last in this run; undefined until the first one (which is a discontinuity). */
  #lastSeq: number | undefined;
  /** The media sequence number of the next segment: consecutive for the life of the bucket's playlist. */
  #nextMsn = 0;
  /** EXT-X-DISCONTINUITY-SEQUENCE: discontinuities that have left the playlists' window. */
  #discontinuitySequence = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #started = false;

  constructor(options: PublisherOptions) {
    if (!Number.isInteger(options.window) || options.window < 1) throw new RangeError(`window must be a positive integer, got ${options.window}`);
    if (!Number.isInteger(options.keepExtra) || options.keepExtra < 0) throw new RangeError(`keepExtra must be a non-negative integer, got ${options.keepExtra}`);
    this.#options = options;
  }

  /**
   * Continues from the indexes already in the store, if any: their segments stay in the history (listed
   * until newer ones push them out, then deleted in due course), their seqs are never reused and the
   * media sequence continues. Returns the seq to give the next segment: after the last listed one, and at
   * least `floorSeq`.
   */
  resume(floorSeq: number, signal?: AbortSignal): Promise<number> {
    if (this.#started) throw new Error('resume must come before the first publish');
    return this.#enqueue(() => this.#resume(floorSeq, signal));
  }

  /**
   * Publishes one segment; throws a StorageError (and lists nothing of it) when one of its objects cannot
   * be stored. Publishing the same segment again after a failure retries what is left to do.
   */
  publish(meta: SegmentMeta, encoded: readonly EncodedSegment[], signal?: AbortSignal): Promise<PublishedSegment> {
    this.#started = true;
    return this.#enqueue(() => this.#publish(meta, encoded, signal));
  }

  /** Writes the indexes with `live: false` (the station is off air; EXT-X-ENDLIST), still listing the last segments. */
  finish(signal?: AbortSignal): Promise<void> {
    return this.#enqueue(() => this.#writeIndexes(false, signal));
  }

  /** The segments the latest indexes list (or will list), oldest first. */
  get listed(): readonly PublishedSegment[] {
    return this.#history.slice(-this.#options.window);
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #get(key: string, signal?: AbortSignal): Promise<string | undefined> {
    const body = await this.#options.store.get(key, signal).catch((error: unknown) => {
      throw asStorageError(error, 'GET', key);
    });
    return body && Buffer.from(body).toString('utf8');
  }

  async #resume(floorSeq: number, signal?: AbortSignal): Promise<number> {
    const { store, log } = this.#options;
    const text = await this.#get(MANIFEST_KEY, signal);
    this.#multivariant = await this.#get(MULTIVARIANT_KEY, signal);
    if (text === undefined) return floorSeq;
    const parsed = parseManifestText(text);
    if (!parsed.ok) {
      log.warn({ key: MANIFEST_KEY }, `the stored manifest is unreadable (${parsed.error}); starting a new window and media sequence at seq ${floorSeq}`);
      return floorSeq;
    }
    const old = parsed.manifest;
    const lastListed = old.streams.hq.segments.at(-1);
    // A run's first LQ fragment begins with a 20 ms priming packet before its first sample (seq * length on
    // the timeline): when the stored last segment ends within that of the next seq's start, one seq is
    // left out, so that the timeline never goes back across runs (ffmpeg's HLS reader stops there).
    const endsNearNext = lastListed !== undefined && lastListed.samples > Math.round(old.segmentSeconds * old.sampleRate) - OPUS_FRAME;
    const nextSeq = lastListed === undefined ? floorSeq : Math.max(lastListed.seq + (endsNearNext ? 2 : 1), floorSeq);
    this.#nextMsn = lastListed === undefined ? 0 : lastListed.msn + 1;
    this.#discontinuitySequence = discontinuitySequenceOf((await this.#get(playlistKey('hq'), signal)) ?? '') ?? 0;
    const stored = old.streams.hq.segments.map((hq, i): PublishedSegment => ({
      seq: hq.seq,
      msn: hq.msn,
      run: runOfInitKey(hq.init)!.run,
      samples: hq.samples,
      startedAt: new Date(hq.startedAt),
      discontinuity: hq.discontinuity,
      bytes: { hq: hq.bytes, lq: old.streams.lq.segments[i]!.bytes },
    }));
    if (this.#sameFormat(old)) {
      this.#history = stored;
    } else {
      // Segments of another length or format cannot share a window with the new ones: they leave it at once.
      for (const s of stored) for (const key of segmentKeys(s.seq)) this.#orphans.add(key);
      this.#discontinuitySequence += stored.filter((s) => s.discontinuity).length;
      log.info({ segments: stored.length }, 'the stored manifest describes another format: its segments are unlisted and deleted');
    }
    // Segments the old run kept past its window (keepExtra) stay until they are window + keepExtra behind
    // the newest, as if this run had published them; ones it stored without listing go at once.
    const kept = new Set(this.#history.flatMap((s) => segmentKeys(s.seq)));
    const firstListed = this.#history[0]?.seq ?? Infinity;
    for (const stream of STREAM_NAMES) {
      const keys = await store.list(`${stream}/`, signal).catch((error: unknown) => {
        throw asStorageError(error, 'LIST', `${stream}/`);
      });
      for (const key of keys) {
        const init = runOfInitKey(key);
        if (init) this.#storedInits.add(init.run);
        const segment = seqOfSegmentKey(key);
        if (!segment || kept.has(key)) continue;
        if (segment.seq < firstListed) this.#keptPastWindow.add(segment.seq);
        else this.#orphans.add(key);
      }
    }
    log.info({ lastListedSeq: lastListed?.seq, nextSeq, nextMsn: this.#nextMsn, listed: this.#history.length, unlisted: this.#orphans.size }, `resuming after the stored manifest: next seq ${nextSeq}, media sequence ${this.#nextMsn}`);
    return nextSeq;
  }

  #sameFormat(m: Manifest): boolean {
    const { station } = this.#options;
    return (
      m.segmentSeconds === station.segmentSeconds &&
      m.sampleRate === station.format.sampleRate &&
      m.channels === station.format.channels &&
      m.streams.hq.bitsPerSample === station.format.bitsPerSample &&
      m.streams.lq.bitrate === station.opusBitrate
    );
  }

  async #putAll(objects: readonly StoredObject[], signal?: AbortSignal): Promise<void> {
    // Wait for all, so that no PUT is still in flight when one has failed.
    const puts = await Promise.allSettled(objects.map((o) => this.#options.store.put(o.key, o.body, o.headers, signal)));
    const failed = puts.findIndex((p) => p.status === 'rejected');
    if (failed >= 0) throw asStorageError((puts[failed] as PromiseRejectedResult).reason, 'PUT', objects[failed]!.key);
  }

  async #publish(meta: SegmentMeta, encoded: readonly EncodedSegment[], signal?: AbortSignal): Promise<PublishedSegment> {
    const files = this.#filesOf(meta, encoded);
    const newest = this.#history.at(-1);
    if (newest?.seq === meta.seq && this.#lastSeq === meta.seq) {
      // A retry after the indexes failed: the fragments are stored, the indexes and deletions are left to do.
      await this.#writeIndexes(true, signal);
      await this.#deleteExpired(signal);
      return newest;
    }
    if (newest && meta.seq <= newest.seq) throw new RangeError(`seq ${meta.seq} is not after the newest stored seq ${newest.seq}`);

    // 1. Once per run: both inits, and live.m3u8 if it changed.
    if (!this.#initsWritten.has(meta.run)) {
      const inits = STREAM_NAMES.map((stream) => ({ key: initKey(stream, meta.run), body: files[stream].init, headers: OBJECT_HEADERS.init }));
      const multivariant = multivariantObject(estimatedBandwidth(this.#options.station));
      const changed = multivariant.body.toString('utf8') !== this.#multivariant;
      await this.#putAll(changed ? [...inits, multivariant] : inits, signal);
      this.#initsWritten.add(meta.run);
      this.#storedInits.add(meta.run);
      this.#multivariant = multivariant.body.toString('utf8');
    }

    // 2. Both fragments, in parallel.
    try {
      await this.#putAll(STREAM_NAMES.map((stream) => ({ key: segmentKey(stream, meta.seq), body: files[stream].bytes, headers: OBJECT_HEADERS.segment })), signal);
    } catch (error) {
      for (const key of segmentKeys(meta.seq)) this.#orphans.add(key);
      throw error;
    }
    const segment: PublishedSegment = {
      seq: meta.seq,
      msn: this.#nextMsn++,
      run: meta.run,
      samples: meta.samples,
      startedAt: meta.startedAt,
      discontinuity: meta.discontinuity || this.#lastSeq === undefined || meta.seq !== this.#lastSeq + 1,
      bytes: { hq: files.hq.bytes.length, lq: files.lq.bytes.length },
    };
    this.#history.push(segment);
    const leaving = this.#history.at(-this.#options.window - 1);
    if (leaving?.discontinuity) this.#discontinuitySequence++;
    this.#lastSeq = meta.seq;
    for (const key of segmentKeys(meta.seq)) this.#orphans.delete(key);

    // 3. The indexes. If they fail, the segment stays stored and in the history: the next ones list it.
    await this.#writeIndexes(true, signal);

    // 4. What no index lists any more, beyond keepExtra.
    await this.#deleteExpired(signal);
    return segment;
  }

  #filesOf(meta: SegmentMeta, encoded: readonly EncodedSegment[]): Record<StreamName, EncodedSegment> {
    const byStream = Object.fromEntries(encoded.map((e) => [e.stream, e])) as Partial<Record<StreamName, EncodedSegment>>;
    for (const stream of STREAM_NAMES) {
      const file = byStream[stream];
      if (!file || file.seq !== meta.seq || encoded.length !== STREAM_NAMES.length) {
        throw new Error(`publish: expected one encoded fragment per stream for seq ${meta.seq}`);
      }
    }
    return byStream as Record<StreamName, EncodedSegment>;
  }

  async #writeIndexes(live: boolean, signal?: AbortSignal): Promise<void> {
    const now = (this.#options.now ?? (() => new Date()))();
    await this.#putAll(indexObjects(this.#options.station, this.listed, { live, discontinuitySequence: this.#discontinuitySequence, now }), signal);
  }

  async #deleteExpired(signal?: AbortSignal): Promise<void> {
    const { store, window, keepExtra, log } = this.#options;
    const expired = this.#history.slice(0, Math.max(0, this.#history.length - window - keepExtra));
    const remaining = this.#history.slice(expired.length);
    // Never delete what is still kept: a stray orphan key of a kept seq is spared.
    const kept = new Set(remaining.flatMap((s) => segmentKeys(s.seq)));
    const newestSeq = this.#history.at(-1)?.seq ?? -Infinity;
    const agedOut = [...this.#keptPastWindow].filter((seq) => newestSeq - seq >= window + keepExtra);
    for (const seq of agedOut) this.#keptPastWindow.delete(seq);
    const unusedInits = this.#unusedInits(remaining);
    const keys = [...expired.flatMap((s) => segmentKeys(s.seq)), ...agedOut.flatMap(segmentKeys), ...this.#orphans, ...unusedInits.flatMap(initKeys)].filter((key) => !kept.has(key));
    const results = await Promise.allSettled(keys.map((key) => store.delete(key, signal)));
    const notDeleted = new Set(keys.filter((_, i) => results[i]!.status === 'rejected'));
    if (notDeleted.size > 0) log.warn({ keys: [...notDeleted] }, `${notDeleted.size} expired objects could not be deleted; trying again after the next segment`);
    this.#history = [...expired.filter((s) => segmentKeys(s.seq).some((key) => notDeleted.has(key))), ...remaining];
    this.#orphans = new Set([...this.#orphans, ...agedOut.flatMap(segmentKeys)].filter((key) => notDeleted.has(key)));
    for (const run of unusedInits) if (!initKeys(run).some((key) => notDeleted.has(key))) this.#storedInits.delete(run);
  }

  /** Runs whose inits no kept segment plays after: not this process's, and newer than no kept segment's run. */
  #unusedInits(remaining: readonly PublishedSegment[]): number[] {
    const runs = [...this.#storedInits].sort((a, b) => a - b);
    const needed = new Set([...this.#initsWritten, ...remaining.map((s) => s.run)]);
    // A segment kept past an earlier window plays after the newest init at or before its seq.
    for (const seq of this.#keptPastWindow) {
      const run = runs.filter((r) => r <= seq).at(-1);
      if (run !== undefined) needed.add(run);
    }
    return runs.filter((run) => !needed.has(run));
  }
}
