import { MANIFEST_KEY, OBJECT_HEADERS, segmentKey, STREAM_NAMES } from '@radio/protocol';
// The daemon's own segmenter, encoders, publisher and test server, so the player meets exactly what a station writes.
import { FlacTrackEncoder } from '../../../radio-server/src/encode/flac-track-encoder.ts';
import { OpusTrackEncoder } from '../../../radio-server/src/encode/opus-track-encoder.ts';
import { ENCODER_POST_ROLL, type EncodedSegment, type SegmentEncoder } from '../../../radio-server/src/encode/segment-encoder.ts';
import { Publisher } from '../../../radio-server/src/publish/publisher.ts';
import { S3Store } from '../../../radio-server/src/publish/s3-store.ts';
import { memoryLogger } from '../../../radio-server/src/publish/testing/memory-log.ts';
import { startS3TestServer, type S3TestServer } from '../../../radio-server/src/publish/testing/s3-test-server.ts';
import { Segmenter, type Segment } from '../../../radio-server/src/segment/segmenter.ts';
import { LATENCY_POLICY } from '../../src/player/latency-control.ts';
import type { StationMaterial } from './station-material.ts';

/** Lets pages on any loopback port read the bucket, revalidate with If-None-Match and see the ETag. */
const CORS_XML = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>http://127.0.0.1:*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>If-None-Match</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

/** A second bucket on the same origin (so the page's CSP allows it) without the CORS rule. */
const NO_CORS_BUCKET = 'no-cors';
/** How late a segment may come before a player keeping the standard margin stalls on it. */
const PLAYER_MARGIN_SECONDS = LATENCY_POLICY.marginSeconds;
const BROKEN_MANIFEST = Buffer.from('{"version": 2, "station": "Loopback FM", "live": tr');
/** What a corrupted segment holds instead of its fragment. */
const CORRUPT: Record<Exclude<Corruption, 'missing'>, Buffer> = {
  // Text (an error page, say): not even MP4 boxes.
  garbage: Buffer.alloc(4096, 'not audio '),
  // Whole MP4 boxes whose content the browser's parser refuses.
  unparsable: Buffer.concat([mp4Box('moof', Buffer.alloc(64, 'not audio ')), mp4Box('mdat', Buffer.alloc(4096))]),
};

/** The ways `corruptNextSegment` spoils a segment; `missing`: listed, but its objects are gone (a 404). */
export type Corruption = 'garbage' | 'unparsable' | 'missing';

function mp4Box(type: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + payload.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, payload]);
}

/** What the station does on each tick: publish a segment, stay off air, or write a truncated manifest. */
export type StationMode = 'live' | 'off-air' | 'broken';

/** One daemon run: its publisher, segmenter and the two continuous encoders, from seq `runSeq` on. */
interface Run {
  publisher: Publisher;
  segmenter: Segmenter;
  encoders: SegmentEncoder[];
  runSeq: number;
  /** Absolute frame (seq * segmentFrames on the shared timeline) up to which capture has been pushed. */
  capturedTo: number;
}

/**
 * A live station on loopback, assembled from the daemon's parts: the Segmenter, the FLAC and Opus track
 * encoders (one per stream per run), the Publisher (window 3, keepExtra 2) and S3Store on a SigV4-checked
 * s3rver whose bucket has the CORS rule above. Seqs follow the wall clock as the daemon's do (segment N
 * covers [N, N + 1) segment lengths since 1970), and segment N is published when it has been captured,
 * plus the encoders' post-roll. Off air is a daemon's clean stop, going live again its restart (a new
 * run after the stored manifest); while the manifest is broken, captured segments are dropped (an
 * outage), so the next one published follows a gap. Bucket `no-cors` has no CORS rule.
 */
export class LiveStation {
  mode: StationMode = 'live';
  /** When set, the next segment published holds these bytes in both streams (the init stays good). */
  corruptNextSegment: Corruption | undefined;
  readonly #server: S3TestServer;
  /** Where the store and the publishers log (kept in memory: what they say is not what these tests check). */
  readonly #log = memoryLogger().log;
  readonly #store: S3Store;
  readonly #material: StationMaterial;
  #run: Run | undefined;
  #newestSeq = -1;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> = Promise.resolve();
  /** While the segments before the start are published at once: their manifests say they were written on time. */
  #prefilling = false;
  #writtenAt: Date | undefined;
  #publishDelays: number[] = [];
  #slowPublishes = 0;
  #lateMs = 0;

  private constructor(server: S3TestServer, material: StationMaterial) {
    this.#server = server;
    this.#material = material;
    this.#store = new S3Store({ target: server.target, log: this.#log });
  }

  /** Starts the server and publishes the `prefill` segments before now at once (a station already on air). */
  static async start(material: StationMaterial, prefill = 3): Promise<LiveStation> {
    const server = await startS3TestServer({ bucketConfigs: [CORS_XML], extraBuckets: [NO_CORS_BUCKET] });
    const station = new LiveStation(server, material);
    const current = Math.floor(Date.now() / station.#segmentMs);
    station.#prefilling = true;
    await station.#capture(current - prefill, current - 1);
    station.#prefilling = false;
    station.#schedule(current);
    return station;
  }

  /** The bucket's public base URL, as R2_PUBLIC_URL would give it (the browser's unsigned GETs pass the SigV4 check). */
  get publicUrl(): string {
    return `${this.#server.target.endpoint}/${this.#server.target.bucket}`;
  }

  /** Seq of the newest segment published. */
  get newestSeq(): number {
    return this.#newestSeq;
  }

  /** The longest time (s) from a segment's end to its manifest being written, over the last 20 segments. */
  get publishDelay(): number {
    return Math.max(0, ...this.#publishDelays);
  }

  /**
   * Segments published later than a player's margin (1 s) after their end since the start (`delayNextSegment`'s
   * included): each can stall a player that keeps that margin, once; on a loaded machine they happen unasked.
   */
  get slowPublishes(): number {
    return this.#slowPublishes;
  }

  /** The next segment is published `ms` late (a slow uplink: capture goes on), and the ones after it on time (at once when they are due). */
  delayNextSegment(ms: number): void {
    this.#lateMs = ms;
  }

  /** Stores `body` as the manifest of the bucket without a CORS rule; returns the URL a player reads it from. */
  async putManifestWithoutCors(body: string): Promise<string> {
    const target = { ...this.#server.target, bucket: NO_CORS_BUCKET };
    const store = new S3Store({ target, log: this.#log });
    await store.put(MANIFEST_KEY, Buffer.from(body), OBJECT_HEADERS.manifest);
    store.destroy();
    return `${target.endpoint}/${NO_CORS_BUCKET}/${MANIFEST_KEY}`;
  }

  /** Stops publishing, then the server (its objects go with it). */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tick;
    this.#store.destroy();
    await this.#server.stop();
  }

  get #segmentMs(): number {
    return this.#material.description.segmentSeconds * 1000;
  }

  get #postRollMs(): number {
    return (ENCODER_POST_ROLL / this.#material.format.sampleRate) * 1000;
  }

  /** Runs the tick for segment `seq` once it has been captured (its end, plus the post-roll), then the next. */
  #schedule(seq: number): void {
    const at = (seq + 1) * this.#segmentMs + this.#postRollMs;
    this.#timer = setTimeout(() => {
      this.#tick = this.#onTick(seq).finally(() => {
        if (this.#timer) this.#schedule(seq + 1);
      });
    }, at - Date.now());
  }

  async #onTick(seq: number): Promise<void> {
    if (this.mode === 'off-air') {
      // A clean stop: the last segments stay listed under `live: false`.
      await this.#run?.publisher.finish();
      this.#run = undefined;
      return;
    }
    if (this.#lateMs > 0) {
      const ms = this.#lateMs;
      this.#lateMs = 0;
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
    await this.#capture(seq, seq);
    if (this.mode === 'broken') await this.#store.put(MANIFEST_KEY, BROKEN_MANIFEST, OBJECT_HEADERS.manifest);
  }

  /** Captures up to the end of segment `last` (and its post-roll); publishes what that completes, from `first` on when a run starts. */
  async #capture(first: number, last: number): Promise<void> {
    const run = this.#run ?? (this.#run = await this.#startRun(first));
    const { segmentFrames } = this.#material;
    const target = (last + 1) * segmentFrames + ENCODER_POST_ROLL;
    if (target <= run.capturedTo) return;
    const segments = run.segmenter.push(this.#material.pcm(run.capturedTo, target - run.capturedTo));
    run.capturedTo = target;
    for (const segment of segments) {
      // An outage: the segment is lost before encoding, and the next one published follows a gap.
      if (this.mode !== 'broken') await this.#publish(run, segment);
      run.segmenter.recycle(segment);
    }
  }

  /** A daemon (re)start: seqs continue after the stored manifest (and at least `floorSeq`), its first segment is a discontinuity. */
  async #startRun(floorSeq: number): Promise<Run> {
    const { description, format, segmentFrames } = this.#material;
    const publisher = new Publisher({ store: this.#store, station: description, window: 3, keepExtra: 2, log: this.#log, now: () => this.#writtenAt ?? new Date() });
    const runSeq = await publisher.resume(floorSeq);
    return {
      publisher,
      runSeq,
      segmenter: new Segmenter({ format, segmentFrames, postRollFrames: ENCODER_POST_ROLL, firstSeq: runSeq }),
      encoders: [
        new FlacTrackEncoder({ format, compressionLevel: 5, segmentFrames, runSeq }),
        new OpusTrackEncoder({ format, bitrate: description.opusBitrate, segmentFrames, runSeq }),
      ],
      capturedTo: runSeq * segmentFrames,
    };
  }

  async #publish(run: Run, segment: Segment): Promise<void> {
    const encoded: EncodedSegment[] = await Promise.all(run.encoders.map((encoder) => encoder.encode(segment)));
    const corruption = this.corruptNextSegment;
    this.corruptNextSegment = undefined;
    if (corruption && corruption !== 'missing') for (const e of encoded) e.bytes = CORRUPT[corruption];
    const startedAt = new Date(segment.seq * this.#segmentMs);
    this.#writtenAt = this.#prefilling ? new Date((segment.seq + 1) * this.#segmentMs + this.#postRollMs) : undefined;
    await run.publisher.publish({ seq: segment.seq, run: run.runSeq, samples: segment.frames, startedAt, discontinuity: segment.discontinuity }, encoded);
    // Listed, then lost (a lifecycle rule, an operator's mistake): players get a 404.
    if (corruption === 'missing') await Promise.all(STREAM_NAMES.map((stream) => this.#store.delete(segmentKey(stream, segment.seq))));
    this.#newestSeq = segment.seq;
    if (this.#prefilling) return;
    const delay = (Date.now() - (segment.seq * this.#segmentMs + (segment.frames / this.#material.format.sampleRate) * 1000)) / 1000;
    this.#publishDelays = [...this.#publishDelays, delay].slice(-20);
    if (delay > PLAYER_MARGIN_SECONDS) this.#slowPublishes++;
  }
}
