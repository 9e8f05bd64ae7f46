import { MANIFEST_KEY, OBJECT_HEADERS, STREAM_NAMES } from '@radio/protocol';
// The daemon's own publishing parts and test server, so the player meets exactly what a station writes.
import type { EncodedSegment } from '../../../radio-server/src/encode/segment-encoder.ts';
import type { StationDescription } from '../../../radio-server/src/publish/manifest-builder.ts';
import { Publisher } from '../../../radio-server/src/publish/publisher.ts';
import { S3Store } from '../../../radio-server/src/publish/s3-store.ts';
import { memoryLogger } from '../../../radio-server/src/publish/testing/memory-log.ts';
import { startS3TestServer, type S3TestServer } from '../../../radio-server/src/publish/testing/s3-test-server.ts';
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
const BROKEN_MANIFEST = Buffer.from('{"version": 1, "station": "Loopback FM", "live": tr');
const NOT_AUDIO = Buffer.alloc(4096, 'not audio ');

/** What the station does on each tick: publish a segment, stay off air, or write a truncated manifest. */
export type StationMode = 'live' | 'off-air' | 'broken';

/**
 * A live station on loopback: radio-server's Publisher (window 3, keepExtra 2) and S3Store on a SigV4-checked
 * s3rver whose bucket has the CORS rule above, one segment every segmentSeconds of wall time, reusing the
 * encoded material in a loop. Off air is what a daemon's clean stop writes, and going live again is what its
 * restart does (a new Publisher that resumes after the stored manifest). Bucket `no-cors` has no CORS rule.
 */
export class LiveStation {
  mode: StationMode = 'live';
  /** When set, the next segment published is bytes no decoder accepts (in both streams). */
  corruptNextSegment = false;
  readonly #server: S3TestServer;
  /** Where the store and the publishers log (kept in memory: what they say is not what these tests check). */
  readonly #log = memoryLogger().log;
  readonly #store: S3Store;
  readonly #material: StationMaterial;
  readonly #description: StationDescription;
  /** The running daemon's publisher; undefined while off air. */
  #publisher: Publisher | undefined;
  #nextSeq = 0;
  /** Set while the manifest is broken: capture frames are lost then, so the next segment starts a new run. */
  #framesLost = false;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> = Promise.resolve();

  private constructor(server: S3TestServer, material: StationMaterial) {
    this.#server = server;
    this.#material = material;
    this.#store = new S3Store({ target: server.target, log: this.#log });
    const { station, segmentSeconds, sampleRate, channels, streams } = material.manifest;
    this.#description = { station, segmentSeconds, format: { sampleRate, channels, bitsPerSample: streams.hq.bitsPerSample }, opusBitrate: streams.lq.bitrate };
  }

  /** Starts the server and publishes `prefill` segments at once (a station already on air). */
  static async start(material: StationMaterial, prefill = 3): Promise<LiveStation> {
    const server = await startS3TestServer({ bucketConfigs: [CORS_XML], extraBuckets: [NO_CORS_BUCKET] });
    const station = new LiveStation(server, material);
    const segmentMs = material.manifest.segmentSeconds * 1000;
    const firstStart = Date.now() - prefill * segmentMs;
    for (let i = 0; i < prefill; i++) await station.#publishSegment(new Date(firstStart + i * segmentMs));
    station.#schedule(Date.now() + segmentMs);
    return station;
  }

  /** The bucket's public base URL, as R2_PUBLIC_URL would give it (the browser's unsigned GETs pass the SigV4 check). */
  get publicUrl(): string {
    return `${this.#server.target.endpoint}/${this.#server.target.bucket}`;
  }

  /** Seq of the newest segment published. */
  get newestSeq(): number {
    return this.#nextSeq - 1;
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

  #schedule(at: number): void {
    this.#timer = setTimeout(() => {
      this.#tick = this.#onTick().finally(() => {
        if (this.#timer) this.#schedule(at + this.#material.manifest.segmentSeconds * 1000);
      });
    }, at - Date.now());
  }

  async #onTick(): Promise<void> {
    if (this.mode === 'off-air') {
      // A clean stop: the last segments stay listed under `live: false`.
      await this.#publisher?.finish();
      this.#publisher = undefined;
      return;
    }
    if (this.mode === 'broken') {
      this.#framesLost = true;
      return this.#store.put(MANIFEST_KEY, BROKEN_MANIFEST, OBJECT_HEADERS.manifest);
    }
    await this.#publishSegment(new Date());
  }

  async #publishSegment(startedAt: Date): Promise<void> {
    if (!this.#publisher) {
      // A daemon (re)start: seqs continue after the stored manifest, and its first segment is a discontinuity.
      this.#publisher = new Publisher({ store: this.#store, station: this.#description, window: 3, keepExtra: 2, log: this.#log });
      this.#nextSeq = await this.#publisher.resume(this.#nextSeq);
    }
    const seq = this.#nextSeq;
    const segment = this.#material.segments[seq % this.#material.segments.length]!;
    const encoded: EncodedSegment[] = STREAM_NAMES.map((stream) => ({ stream, seq, samples: segment.samples, bytes: this.corruptNextSegment ? NOT_AUDIO : segment[stream] }));
    this.corruptNextSegment = false;
    await this.#publisher.publish({ seq, samples: segment.samples, startedAt, discontinuity: this.#framesLost }, encoded);
    this.#framesLost = false;
    this.#nextSeq = seq + 1;
  }
}
