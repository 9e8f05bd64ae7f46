import type { Manifest, SegmentEntry } from '@radio/protocol';
import { PROTOCOL_VERSION, segmentKey, type StreamName } from '@radio/protocol/keys';
import type { PcmFormat } from '../segment/pcm.js';

/** What the manifest says about the station, fixed for a run. */
export interface StationDescription {
  station: string;
  segmentSeconds: number;
  format: PcmFormat;
  opusBitrate: number;
}

/** A segment whose two files are stored: what the manifest lists of it. */
export interface PublishedSegment {
  seq: number;
  samples: number;
  startedAt: Date;
  discontinuity: boolean;
  bytes: Record<StreamName, number>;
}

/** Builds a protocol v1 manifest listing `segments` (oldest first). */
export function buildManifest(station: StationDescription, segments: readonly PublishedSegment[], live: boolean, now: Date): Manifest {
  const entries = (stream: StreamName): SegmentEntry[] =>
    segments.map((s) => ({
      seq: s.seq,
      uri: segmentKey(stream, s.seq),
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
    streams: {
      hq: { codec: 'flac', mimeType: 'audio/flac', bitsPerSample: station.format.bitsPerSample, segments: entries('hq') },
      lq: { codec: 'opus', mimeType: 'audio/ogg; codecs=opus', bitrate: station.opusBitrate, segments: entries('lq') },
    },
  };
}

/** The manifest as stored: pretty enough to read with curl, newline-terminated. */
export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}
