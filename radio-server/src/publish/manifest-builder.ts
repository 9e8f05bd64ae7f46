import type { Manifest, SegmentEntry } from '@radio/protocol';
import { initKey, MULTIVARIANT_KEY, playlistKey, PROTOCOL_VERSION, segmentKey, STREAM_MIME_TYPES, type StreamName } from '@radio/protocol/keys';
import type { PcmFormat } from '../segment/pcm.js';

/** What the manifest says about the station, fixed for a run. */
export interface StationDescription {
  station: string;
  segmentSeconds: number;
  format: PcmFormat;
  opusBitrate: number;
}

/** A segment whose two fragments are stored: what the manifest and the playlists list of it. */
export interface PublishedSegment {
  seq: number;
  /** HLS media sequence number. */
  msn: number;
  /** Seq of the first segment of its run: names its init. */
  run: number;
  samples: number;
  startedAt: Date;
  discontinuity: boolean;
  bytes: Record<StreamName, number>;
}

/** Builds a protocol v2 manifest listing `segments` (oldest first). */
export function buildManifest(station: StationDescription, segments: readonly PublishedSegment[], live: boolean, now: Date): Manifest {
  const entries = (stream: StreamName): SegmentEntry[] =>
    segments.map((s) => ({
      seq: s.seq,
      msn: s.msn,
      uri: segmentKey(stream, s.seq),
      init: initKey(stream, s.run),
      samples: s.samples,
      startedAt: s.startedAt.toISOString(),
      bytes: s.bytes[stream],
      discontinuity: s.discontinuity,
    }));
  return {
    version: PROTOCOL_VERSION,
    station: station.station,
    live,
    updatedAt: now.toISOString(),
    segmentSeconds: station.segmentSeconds,
    sampleRate: station.format.sampleRate,
    channels: station.format.channels,
    hls: MULTIVARIANT_KEY,
    streams: {
      hq: { codec: 'flac', mimeType: STREAM_MIME_TYPES.hq, bitsPerSample: station.format.bitsPerSample, playlist: playlistKey('hq'), segments: entries('hq') },
      lq: { codec: 'opus', mimeType: STREAM_MIME_TYPES.lq, bitrate: station.opusBitrate, playlist: playlistKey('lq'), segments: entries('lq') },
    },
  };
}

/** The manifest as stored: pretty enough to read with curl, newline-terminated. */
export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}
