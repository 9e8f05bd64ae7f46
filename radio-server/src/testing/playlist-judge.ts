import { Parser, type ParsedPlaylist } from 'm3u8-parser';

/** A playlist as videojs' m3u8-parser reads it (an HLS client's parser, not ours). */
export function parsePlaylist(text: string): ParsedPlaylist {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest;
}

/** One segment of a parsed media playlist, with its media sequence number and keys resolved against the stream folder. */
export interface JudgedSegment {
  msn: number;
  key: string;
  initKey: string;
  duration: number;
  discontinuity: boolean;
  programDateTime: string | undefined;
  /** The discontinuity sequence number it belongs to. */
  timeline: number;
}

/** The segments of the media playlist of `stream`, each with its MSN (MEDIA-SEQUENCE + index) and keys. */
export function judgeMediaPlaylist(stream: string, text: string): { playlist: ParsedPlaylist; segments: JudgedSegment[] } {
  const playlist = parsePlaylist(text);
  const segments = playlist.segments.map((s, i) => ({
    msn: (playlist.mediaSequence ?? 0) + i,
    key: `${stream}/${s.uri}`,
    initKey: `${stream}/${s.map?.uri ?? ''}`,
    duration: s.duration,
    discontinuity: s.discontinuity === true,
    programDateTime: s.dateTimeString,
    timeline: s.timeline,
  }));
  return { playlist, segments };
}
