/** Names of the two published streams. */
export type StreamName = 'hq' | 'lq';

/** Every stream the protocol defines, in the order they are uploaded. */
export const STREAM_NAMES: readonly StreamName[] = ['hq', 'lq'];

/** The protocol version this module implements. */
export const PROTOCOL_VERSION = 1;

/** Object key of the manifest, relative to the prefix. */
export const MANIFEST_KEY = 'manifest.json';

const SEGMENT_EXTENSION: Record<StreamName, string> = { hq: 'flac', lq: 'opus' };

/** Content-Type and Cache-Control of each object, exactly as the protocol's table says. */
export const OBJECT_HEADERS = {
  manifest: { contentType: 'application/json', cacheControl: 'no-cache' },
  hq: { contentType: 'audio/flac', cacheControl: 'public, max-age=31536000, immutable' },
  lq: { contentType: 'audio/ogg; codecs=opus', cacheControl: 'public, max-age=31536000, immutable' },
} as const;

/** The largest sequence number that fits the 10-digit key. */
export const MAX_SEQ = 9_999_999_999;

/** `hq/0000001041.flac`: the key (relative to the prefix) of one segment of one stream. */
export function segmentKey(stream: StreamName, seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) {
    throw new RangeError(`segment seq must be an integer from 0 to ${MAX_SEQ}, got ${seq}`);
  }
  return `${stream}/${String(seq).padStart(10, '0')}.${SEGMENT_EXTENSION[stream]}`;
}

/** Joins the optional `R2_PREFIX` and a key, with exactly one slash between them. */
export function prefixedKey(prefix: string, key: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/${key}` : key;
}
