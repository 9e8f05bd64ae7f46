import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MANIFEST_KEY, OBJECT_HEADERS, segmentKey, STREAM_NAMES } from '@radio/protocol';
// The daemon's own manifest builder (built), so the test publishes exactly what the station would.
import { buildManifest, serializeManifest } from 'radio-server/dist/publish/manifest-builder.js';
import S3rver from 's3rver';
import type { StationMaterial } from './station-material.ts';

/** Lets pages on any loopback port read the bucket, revalidate with If-None-Match and see the ETag. */
const CORS_RULE = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>http://127.0.0.1:*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>If-None-Match</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

/** What the station publishes on each tick: segments and a live manifest, an off-air one, or garbage. */
export type StationMode = 'live' | 'off-air' | 'broken';

const WINDOW = 3;
const KEEP_EXTRA = 2;

/**
 * A live station on loopback: s3rver with a public bucket `radio` (CORS rule above) and a bucket
 * `nocors` (none), and a publisher that follows the protocol's order of writes, one segment every
 * segmentSeconds of wall time, with a sliding window of 3, reusing the encoded material in a loop.
 */
export class LiveStation {
  mode: StationMode = 'live';
  /** When set, the next segment published is bytes no decoder accepts (in both streams). */
  corruptNextSegment = false;
  readonly #server: S3rver;
  readonly #s3: S3Client;
  readonly #material: StationMaterial;
  readonly #published: Array<{ seq: number; startedAt: Date; discontinuity: boolean; index: number }> = [];
  #nextSeq = 0;
  #restarted = true;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> = Promise.resolve();

  private constructor(server: S3rver, readonly origin: string, material: StationMaterial) {
    this.#server = server;
    this.#material = material;
    this.#s3 = new S3Client({
      endpoint: origin,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  }

  /** Starts s3rver in `directory` and publishes `prefill` segments at once (a station already on air). */
  static async start(directory: string, material: StationMaterial, prefill = WINDOW): Promise<LiveStation> {
    const server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      configureBuckets: [
        { name: 'radio', configs: [CORS_RULE] },
        { name: 'nocors', configs: [] },
      ],
    });
    const { port } = await server.run();
    const station = new LiveStation(server, `http://127.0.0.1:${port}`, material);
    const segmentMs = material.manifest.segmentSeconds * 1000;
    const firstStart = Date.now() - prefill * segmentMs;
    for (let i = 0; i < prefill; i++) await station.#publishSegment(new Date(firstStart + i * segmentMs));
    await station.#writeManifest();
    station.#schedule(Date.now() + segmentMs);
    return station;
  }

  /** The bucket's public base URL, as R2_PUBLIC_URL would give it. */
  get publicUrl(): string {
    return `${this.origin}/radio`;
  }

  /** Seq of the newest segment published. */
  get newestSeq(): number {
    return this.#nextSeq - 1;
  }

  /** Stores `body` as the manifest of bucket `bucket` (for the bucket without CORS). */
  async putManifest(bucket: string, body: string): Promise<void> {
    await this.#put(MANIFEST_KEY, body, OBJECT_HEADERS.manifest, bucket);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tick;
    this.#s3.destroy();
    await this.#server.close();
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
      this.#restarted = true;
      return this.#writeManifest(false);
    }
    await this.#publishSegment(new Date());
    if (this.mode === 'broken') return this.#put(MANIFEST_KEY, '{"version": 1, "station": "Loopback FM", "live": tr', OBJECT_HEADERS.manifest);
    await this.#writeManifest();
    // Segments leave the bucket only after a manifest that no longer lists them is written.
    const expired = this.#published.at(-(WINDOW + KEEP_EXTRA + 1));
    if (expired) await Promise.all(STREAM_NAMES.map((stream) => this.#delete(segmentKey(stream, expired.seq))));
  }

  async #publishSegment(startedAt: Date): Promise<void> {
    const seq = this.#nextSeq++;
    const index = seq % this.#material.segments.length;
    const segment = this.#material.segments[index]!;
    const garbage = this.corruptNextSegment ? Buffer.alloc(4096, 'not audio ') : undefined;
    this.corruptNextSegment = false;
    await Promise.all(STREAM_NAMES.map((stream) => this.#put(segmentKey(stream, seq), garbage ?? segment[stream], OBJECT_HEADERS[stream])));
    this.#published.push({ seq, startedAt, discontinuity: this.#restarted, index });
    this.#restarted = false;
  }

  async #writeManifest(live = true): Promise<void> {
    const { station, segmentSeconds, sampleRate, channels, streams } = this.#material.manifest;
    const description = { station, segmentSeconds, format: { sampleRate, channels, bitsPerSample: streams.hq.bitsPerSample }, opusBitrate: streams.lq.bitrate };
    const listed = this.#published.slice(-WINDOW).map(({ seq, startedAt, discontinuity, index }) => {
      const segment = this.#material.segments[index]!;
      return { seq, startedAt, discontinuity, samples: segment.samples, bytes: { hq: segment.hq.length, lq: segment.lq.length } };
    });
    await this.#put(MANIFEST_KEY, serializeManifest(buildManifest(description, listed, live, new Date())), OBJECT_HEADERS.manifest);
  }

  async #put(key: string, body: string | Buffer, headers: { contentType: string; cacheControl: string }, bucket = 'radio'): Promise<void> {
    await this.#s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: headers.contentType, CacheControl: headers.cacheControl }));
  }

  async #delete(key: string): Promise<void> {
    await this.#s3.send(new DeleteObjectCommand({ Bucket: 'radio', Key: key }));
  }
}
