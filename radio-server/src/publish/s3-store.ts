import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { prefixedKey } from '@radio/protocol';
import type { Logger } from '../ops/logger.js';
import { RateLimitedLog } from '../ops/rate-limited-log.js';
import type { ObjectHeaders, ObjectStore } from './object-store.js';
import { STORAGE_REQUEST_POLICY, withRetries, type StorageRequestPolicy } from './request-policy.js';
import { asStorageError, classifyS3Error, isRetryable } from './s3-errors.js';

/** Where the station's objects go: an S3-compatible endpoint (R2, MinIO, s3rver), addressed path-style. */
export interface S3Target {
  /** The endpoint URL without the bucket, e.g. `https://<account>.r2.cloudflarestorage.com`. */
  endpoint: string;
  bucket: string;
  /** Prepended to every key (`R2_PREFIX`); may be empty. */
  prefix: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** A signing clock whose offset can be set: what {@link ClockOffset} keeps current. */
export interface SigningClock {
  /** Milliseconds added to this host's clock when requests are signed. */
  clockOffsetMs: number;
}

export interface S3StoreOptions {
  target: S3Target;
  log: Logger;
  policy?: StorageRequestPolicy;
}

/**
 * An {@link ObjectStore} on an S3 bucket. Each request is retried per the policy when its error is
 * worth it, each attempt within the policy's deadlines and ended at once by the caller's signal; when it
 * fails for good it is thrown as a StorageError that says what to check.
 */
export class S3Store implements ObjectStore, SigningClock {
  // Private fields stay out of any log or dump of the store: the client holds the secret key.
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #log: Logger;
  /** Retries, per operation and code: a flapping endpoint must not flood the journal. */
  readonly #retries: RateLimitedLog;
  readonly #policy: StorageRequestPolicy;

  constructor(options: S3StoreOptions) {
    this.#policy = options.policy ?? STORAGE_REQUEST_POLICY;
    this.#bucket = options.target.bucket;
    this.#prefix = options.target.prefix;
    this.#log = options.log;
    this.#retries = new RateLimitedLog({ log: options.log });
    this.#client = new S3Client({
      endpoint: options.target.endpoint,
      region: 'auto',
      forcePathStyle: true,
      credentials: { ...options.target.credentials },
      // Retries are ours (withRetries), driven by classifyS3Error.
      maxAttempts: 1,
      // R2, MinIO and s3rver differ in their support for the newer default checksums; the protocol needs none.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Each attempt also carries an AbortSignal with its deadline (withRetries), which covers the response body too.
      requestHandler: {
        connectionTimeout: this.#policy.connectionTimeoutMs,
        socketTimeout: this.#policy.idleTimeoutMs,
        requestTimeout: this.#policy.attemptTimeoutMs,
        throwOnRequestTimeout: true,
      },
    });
  }

  get clockOffsetMs(): number {
    return this.#client.config.systemClockOffset;
  }

  set clockOffsetMs(offsetMs: number) {
    this.#client.config.systemClockOffset = offsetMs;
  }

  async put(key: string, body: Uint8Array, headers: ObjectHeaders, signal?: AbortSignal): Promise<void> {
    await this.#request('PUT', key, signal, (abortSignal) =>
      this.#client.send(
        new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: body, ContentType: headers.contentType, CacheControl: headers.cacheControl }),
        { abortSignal },
      ),
    );
  }

  async get(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    return this.#request('GET', key, signal, async (abortSignal) => {
      try {
        const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }), { abortSignal });
        return await response.Body!.transformToByteArray();
      } catch (error) {
        if (error instanceof NoSuchKey) return undefined;
        throw error;
      }
    });
  }

  async list(prefix: string, signal?: AbortSignal): Promise<string[]> {
    return this.#request('LIST', prefix, signal, async (abortSignal) => {
      const keys: string[] = [];
      const strip = this.#key('').length;
      // The paginator passes its further arguments to each page's send.
      for await (const page of paginateListObjectsV2({ client: this.#client }, { Bucket: this.#bucket, Prefix: this.#key(prefix) }, { abortSignal })) {
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(strip));
      }
      return keys;
    });
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    await this.#request('DELETE', key, signal, (abortSignal) => this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }), { abortSignal }));
  }

  /** Closes the client's pooled connections; the store is unusable afterwards. */
  destroy(): void {
    this.#client.destroy();
  }

  #key(key: string): string {
    return prefixedKey(this.#prefix, key);
  }

  async #request<T>(operation: string, key: string, signal: AbortSignal | undefined, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await withRetries(attempt, this.#policy, {
        signal,
        what: `${operation} ${key}`,
        shouldRetry: (error) => isRetryable(classifyS3Error(error)),
        onRetry: (error, retry, delayMs) => {
          const { code, kind } = classifyS3Error(error);
          this.#retries.warn(`${operation} ${code}`, { operation, key, code, kind, retry, delayMs }, `${operation} ${key} failed (${code}); retry ${retry} of ${this.#policy.maxRetries} in ${delayMs} ms`);
        },
      });
    } catch (error) {
      const failure = asStorageError(error, operation, key);
      // The caller reports it (the station, rate-limited per cause; the preflight, as a FAIL line).
      this.#log.debug({ operation, key, code: failure.code, kind: failure.kind }, failure.message);
      throw failure;
    }
  }
}
