import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { prefixedKey } from '@radio/protocol';
import type { Logger } from '../ops/logger.js';
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
 * worth it, logged at ERROR with what to check when it fails for good, and then thrown as a StorageError.
 */
export class S3Store implements ObjectStore, SigningClock {
  // Private fields stay out of any log or dump of the store: the client holds the secret key.
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #policy: StorageRequestPolicy;

  constructor(options: S3StoreOptions) {
    this.#policy = options.policy ?? STORAGE_REQUEST_POLICY;
    this.#bucket = options.target.bucket;
    this.#prefix = options.target.prefix;
    this.#log = options.log;
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
      requestHandler: {
        connectionTimeout: this.#policy.connectionTimeoutMs,
        requestTimeout: this.#policy.requestTimeoutMs,
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

  async put(key: string, body: Uint8Array, headers: ObjectHeaders): Promise<void> {
    await this.#request('PUT', key, () =>
      this.#client.send(
        new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: body, ContentType: headers.contentType, CacheControl: headers.cacheControl }),
      ),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.#request('GET', key, async () => {
      try {
        const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
        return await response.Body!.transformToByteArray();
      } catch (error) {
        if (error instanceof NoSuchKey) return undefined;
        throw error;
      }
    });
  }

  async list(prefix: string): Promise<string[]> {
    return this.#request('LIST', prefix, async () => {
      const keys: string[] = [];
      const strip = this.#key('').length;
      for await (const page of paginateListObjectsV2({ client: this.#client }, { Bucket: this.#bucket, Prefix: this.#key(prefix) })) {
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(strip));
      }
      return keys;
    });
  }

  async delete(key: string): Promise<void> {
    await this.#request('DELETE', key, () => this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) })));
  }

  /** Closes the client's pooled connections; the store is unusable afterwards. */
  destroy(): void {
    this.#client.destroy();
  }

  #key(key: string): string {
    return prefixedKey(this.#prefix, key);
  }

  async #request<T>(operation: string, key: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await withRetries(attempt, this.#policy, {
        shouldRetry: (error) => isRetryable(classifyS3Error(error)),
        onRetry: (error, retry, delayMs) => {
          const { code, kind } = classifyS3Error(error);
          this.#log.warn({ operation, key, code, kind, retry, delayMs }, `${operation} ${key} failed (${code}); retry ${retry} of ${this.#policy.maxRetries} in ${delayMs} ms`);
        },
      });
    } catch (error) {
      const failure = asStorageError(error, operation, key);
      this.#log.error({ operation, key, code: failure.code, kind: failure.kind }, failure.message);
      throw failure;
    }
  }
}
