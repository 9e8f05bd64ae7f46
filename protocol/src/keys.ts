/** Names of the two published streams. */
export type StreamName = 'hq' | 'lq';

/** Every stream the protocol defines, in the order they are uploaded. */
export const STREAM_NAMES: readonly StreamName[] = ['hq', 'lq'];

/** The protocol version this module implements. */
export const PROTOCOL_VERSION = 2;

/** Object key of the manifest, relative to the prefix. */
export const MANIFEST_KEY = 'manifest.json';

/** Object key of the HLS multivariant playlist, relative to the prefix. */
export const MULTIVARIANT_KEY = 'live.m3u8';

/** The `CODECS` / MIME codec string of each stream, as Safari's MSE spells it (others accept it too). */
export const STREAM_CODECS: Record<StreamName, string> = { hq: 'fLaC', lq: 'Opus' };

/** The MIME type of each stream's media (`audio/mp4; codecs="fLaC"`), for `MediaSource.isTypeSupported`. */
export const STREAM_MIME_TYPES = {
  hq: 'audio/mp4; codecs="fLaC"',
  lq: 'audio/mp4; codecs="Opus"',
} as const satisfies Record<StreamName, string>;

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Content-Type and Cache-Control of each kind of object, exactly as the protocol's table says. */
export const OBJECT_HEADERS = {
  multivariant: { contentType: PLAYLIST_TYPE, cacheControl: 'public, max-age=10' },
  playlist: { contentType: PLAYLIST_TYPE, cacheControl: 'public, max-age=1' },
  manifest: { contentType: 'application/json', cacheControl: 'public, max-age=1' },
  init: { contentType: 'audio/mp4', cacheControl: IMMUTABLE },
  segment: { contentType: 'audio/mp4', cacheControl: IMMUTABLE },
} as const;

/** The largest sequence number that fits the 10-digit key. */
export const MAX_SEQ = 9_999_999_999;

function paddedSeq(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) {
    throw new RangeError(`segment seq must be an integer from 0 to ${MAX_SEQ}, got ${seq}`);
  }
  return String(seq).padStart(10, '0');
}

/** `hq/0000001041.m4s`: the key (relative to the prefix) of one segment (a CMAF fragment) of one stream. */
export function segmentKey(stream: StreamName, seq: number): string {
  return `${stream}/${paddedSeq(seq)}.m4s`;
}

/** `hq/init-0000001030.mp4`: the CMAF header of the run whose first segment is `runSeq`. */
export function initKey(stream: StreamName, runSeq: number): string {
  return `${stream}/init-${paddedSeq(runSeq)}.mp4`;
}

/** `hq/playlist.m3u8`: the stream's HLS media playlist. */
export function playlistKey(stream: StreamName): string {
  return `${stream}/playlist.m3u8`;
}

/** The seq in a segment key, or undefined when `key` is not one (relative to the prefix). */
export function seqOfSegmentKey(key: string): { stream: StreamName; seq: number } | undefined {
  const match = /^(hq|lq)\/(\d{10})\.m4s$/.exec(key);
  return match ? { stream: match[1] as StreamName, seq: Number(match[2]) } : undefined;
}

/** The run seq in an init key, or undefined when `key` is not one (relative to the prefix). */
export function runOfInitKey(key: string): { stream: StreamName; run: number } | undefined {
  const match = /^(hq|lq)\/init-(\d{10})\.mp4$/.exec(key);
  return match ? { stream: match[1] as StreamName, run: Number(match[2]) } : undefined;
}

/** Joins the optional `R2_PREFIX` and a key, with exactly one slash between them. */
export function prefixedKey(prefix: string, key: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/${key}` : key;
}
