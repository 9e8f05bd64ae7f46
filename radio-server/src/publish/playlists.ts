import { initKey, playlistKey, segmentKey, STREAM_CODECS, type StreamName } from '@radio/protocol/keys';
import type { PublishedSegment, StationDescription } from './manifest-builder.js';

/** What a media playlist says besides its segments. */
export interface MediaPlaylistOptions {
  segmentSeconds: number;
  sampleRate: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE: discontinuity tags that have left the playlist so far. */
  discontinuitySequence: number;
  /** False: the station is off air (EXT-X-ENDLIST). */
  live: boolean;
}

/** A key relative to the playlist's own folder (`hq/0000001041.m4s` -> `0000001041.m4s`). */
function relativeToPlaylist(stream: StreamName, key: string): string {
  return key.slice(stream.length + 1);
}

/**
 * The stream's HLS media playlist (RFC 8216, version 7) over the listed segments, oldest first: each with
 * its PROGRAM-DATE-TIME and exact duration, a DISCONTINUITY before a segment that does not follow the one
 * before it, and an EXT-X-MAP wherever the run (and so the init) changes.
 */
export function mediaPlaylist(stream: StreamName, segments: readonly PublishedSegment[], options: MediaPlaylistOptions): string {
  const first = segments[0];
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${Math.ceil(options.segmentSeconds)}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${options.discontinuitySequence}`,
  ];
  let run: number | undefined;
  for (const s of segments) {
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (s.run !== run) lines.push(`#EXT-X-MAP:URI="${relativeToPlaylist(stream, initKey(stream, s.run))}"`);
    run = s.run;
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${s.startedAt.toISOString()}`, `#EXTINF:${(s.samples / options.sampleRate).toFixed(6)},`, relativeToPlaylist(stream, segmentKey(stream, s.seq)));
  }
  if (!options.live) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** Bits per second a stream is declared at in the multivariant playlist. */
export interface StreamBandwidth {
  peak: number;
  average: number;
}

/** fMP4 framing per second: a trun entry per packet (50 a second) and a moof/styp per segment, rounded up. */
const CONTAINER_BITS_PER_SECOND = 4000;

/**
 * What a run declares before it has measured anything: for FLAC the raw PCM rate as the peak (libFLAC
 * falls back to verbatim frames, so it never needs more) and two thirds of it on average (music); for
 * Opus the VBR target on average and 1.25x it at the peak.
 */
export function estimatedBandwidth(station: StationDescription): Record<StreamName, StreamBandwidth> {
  const { sampleRate, channels, bitsPerSample } = station.format;
  const raw = sampleRate * channels * bitsPerSample;
  return {
    hq: { peak: raw + CONTAINER_BITS_PER_SECOND, average: Math.round((raw * 2) / 3) + CONTAINER_BITS_PER_SECOND },
    lq: { peak: Math.round(station.opusBitrate * 1.25) + CONTAINER_BITS_PER_SECOND, average: station.opusBitrate + CONTAINER_BITS_PER_SECOND },
  };
}

/** Measured bandwidth of published segments: the fastest segment and the mean over all of them. */
export function measuredBandwidth(segments: readonly PublishedSegment[], stream: StreamName, sampleRate: number): StreamBandwidth {
  let bits = 0;
  let seconds = 0;
  let peak = 0;
  for (const s of segments) {
    const duration = s.samples / sampleRate;
    bits += s.bytes[stream] * 8;
    seconds += duration;
    peak = Math.max(peak, (s.bytes[stream] * 8) / duration);
  }
  return { peak: Math.ceil(peak), average: seconds > 0 ? Math.ceil(bits / seconds) : 0 };
}

/** The multivariant playlist (`live.m3u8`): LQ first, so a player that takes the first variant starts light. */
export function multivariantPlaylist(bandwidth: Record<StreamName, StreamBandwidth>): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const stream of ['lq', 'hq'] as const) {
    const b = bandwidth[stream];
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${b.peak},AVERAGE-BANDWIDTH=${b.average},CODECS="${STREAM_CODECS[stream]}"`, playlistKey(stream));
  }
  return `${lines.join('\n')}\n`;
}

/** EXT-X-DISCONTINUITY-SEQUENCE of a stored media playlist, or undefined when it has none. */
export function discontinuitySequenceOf(playlist: string): number | undefined {
  const match = /^#EXT-X-DISCONTINUITY-SEQUENCE:(\d+)\s*$/m.exec(playlist);
  return match ? Number(match[1]) : undefined;
}
