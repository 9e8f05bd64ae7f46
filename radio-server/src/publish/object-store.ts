/** Headers every stored object carries (the protocol's table). */
export interface ObjectHeaders {
  contentType: string;
  cacheControl: string;
}

/** Where segments and the manifest go: a directory for `encode`, an S3 bucket for the live station. */
export interface ObjectStore {
  /** Writes an object whole: readers see the old content or the new one, never a part. */
  put(key: string, body: Uint8Array, headers: ObjectHeaders): Promise<void>;
  /** The object's content, or undefined when there is no such object. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** The keys that start with `prefix`, in no particular order. */
  list(prefix: string): Promise<string[]>;
  /** Removes an object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
}
