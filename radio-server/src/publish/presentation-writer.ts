import { initKey, OBJECT_HEADERS, segmentKey, STREAM_NAMES, type StreamName } from '@radio/protocol/keys';
import type { EncodedSegment } from '../encode/segment-encoder.js';
import type { SegmentMeta } from '../shared/segment-meta.js';
import { indexObjects, multivariantObject, type StoredObject } from './indexes.js';
import type { PublishedSegment, StationDescription } from './manifest-builder.js';
import type { ObjectStore } from './object-store.js';
import { measuredBandwidth, type StreamBandwidth } from './playlists.js';

export interface PresentationWriterOptions {
  store: ObjectStore;
  station: StationDescription;
  /** For the manifest's `updatedAt`. */
  now?: () => Date;
}

/**
 * The publishing stage of `encode` (the station's SegmentPublisher): a finished presentation, written once.
 * Each run's inits with its first segment, then the fragments; on `finish`, `live.m3u8` with the measured
 * bandwidth, both media playlists (ENDLIST) and, last, the manifest (`live: false`) listing every segment.
 * No index is written before `finish`, so a reader never finds one naming a missing object. The store's
 * errors pass through unchanged: DirectoryStore's are fatal, and end the station.
 */
export class PresentationWriter {
  readonly #published: PublishedSegment[] = [];
  readonly #runsWritten = new Set<number>();

  constructor(private readonly options: PresentationWriterOptions) {}

  /** Nothing to connect to: the presentation starts where the station's clock says. */
  async connect(floorSeq: number): Promise<number> {
    return floorSeq;
  }

  async publish(meta: SegmentMeta, encoded: readonly EncodedSegment[]): Promise<PublishedSegment> {
    const files = STREAM_NAMES.map((stream) => fileOf(meta, encoded, stream));
    if (!this.#runsWritten.has(meta.run)) {
      await this.#putAll(files.map((f) => ({ key: initKey(f.stream, meta.run), body: f.init, headers: OBJECT_HEADERS.init })));
      this.#runsWritten.add(meta.run);
    }
    await this.#putAll(files.map((f) => ({ key: segmentKey(f.stream, meta.seq), body: f.bytes, headers: OBJECT_HEADERS.segment })));
    const [hq, lq] = files;
    const segment: PublishedSegment = { ...meta, msn: this.#published.length, bytes: { hq: hq!.bytes.length, lq: lq!.bytes.length } };
    this.#published.push(segment);
    return segment;
  }

  async finish(): Promise<void> {
    const { station, now = () => new Date() } = this.options;
    const published = this.#published;
    const bandwidth = Object.fromEntries(STREAM_NAMES.map((stream) => [stream, measuredBandwidth(published, stream, station.format.sampleRate)])) as Record<StreamName, StreamBandwidth>;
    // One after the other, the manifest last of all.
    for (const o of [multivariantObject(bandwidth), ...indexObjects(station, published, { live: false, discontinuitySequence: 0, now: now() })]) await this.options.store.put(o.key, o.body, o.headers);
  }

  /** The segments written, in order. */
  get published(): readonly PublishedSegment[] {
    return this.#published;
  }

  async #putAll(objects: readonly StoredObject[]): Promise<void> {
    // Wait for all, so that nothing is still being written when one has failed.
    const puts = await Promise.allSettled(objects.map((o) => this.options.store.put(o.key, o.body, o.headers)));
    const failed = puts.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

function fileOf(meta: SegmentMeta, encoded: readonly EncodedSegment[], stream: StreamName): EncodedSegment {
  const file = encoded.find((e) => e.stream === stream);
  if (!file || file.seq !== meta.seq) throw new Error(`publish: no ${stream} fragment for seq ${meta.seq}`);
  return file;
}
