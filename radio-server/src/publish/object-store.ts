/** Headers every stored object carries (the protocol's table). */
export interface ObjectHeaders {
  contentType: string;
  cacheControl: string;
}

/**
 * Where segments and the manifest go: a directory for `encode`, an S3 bucket for the live station. A
 * `signal` ends a request in flight at once (shutdown); a store that cannot be interrupted may ignore it.
 */
export interface ObjectStore {
  /** Writes an object whole: readers see the old content or the new one, never a part. */
  put(key: string, body: Uint8Array, headers: ObjectHeaders, signal?: AbortSignal): Promise<void>;
  /** The object's content, or undefined when there is no such object. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  /** The keys that start with `prefix`, in no particular order. */
  list(prefix: string, signal?: AbortSignal): Promise<string[]>;
  /** Removes an object; removing a missing one is not an error. */
  delete(key: string, signal?: AbortSignal): Promise<void>;
}
