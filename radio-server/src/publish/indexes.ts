import { MANIFEST_KEY, MULTIVARIANT_KEY, OBJECT_HEADERS, playlistKey, STREAM_NAMES } from '@radio/protocol/keys';
import { buildManifest, serializeManifest, type PublishedSegment, type StationDescription } from './manifest-builder.js';
import type { ObjectHeaders } from './object-store.js';
import { mediaPlaylist, multivariantPlaylist, type StreamBandwidth } from './playlists.js';
import type { StreamName } from '@radio/protocol/keys';

/** An object to PUT: its key (relative to the prefix), body and the protocol's headers. */
export interface StoredObject {
  key: string;
  body: Buffer;
  headers: ObjectHeaders;
}

export interface IndexState {
  live: boolean;
  /** EXT-X-DISCONTINUITY-SEQUENCE of the listed window. */
  discontinuitySequence: number;
  now: Date;
}

/** The indexes over a window of segments: both media playlists and manifest.json, listing the same segments. */
export function indexObjects(station: StationDescription, listed: readonly PublishedSegment[], state: IndexState): StoredObject[] {
  const playlists = STREAM_NAMES.map((stream) => ({
    key: playlistKey(stream),
    body: Buffer.from(mediaPlaylist(stream, listed, { segmentSeconds: station.segmentSeconds, sampleRate: station.format.sampleRate, discontinuitySequence: state.discontinuitySequence, live: state.live })),
    headers: OBJECT_HEADERS.playlist,
  }));
  const manifest = { key: MANIFEST_KEY, body: serializeManifest(buildManifest(station, listed, state.live, state.now)), headers: OBJECT_HEADERS.manifest };
  return [...playlists, manifest];
}

/** `live.m3u8`, the entry point for HLS players. */
export function multivariantObject(bandwidth: Record<StreamName, StreamBandwidth>): StoredObject {
  return { key: MULTIVARIANT_KEY, body: Buffer.from(multivariantPlaylist(bandwidth)), headers: OBJECT_HEADERS.multivariant };
}
