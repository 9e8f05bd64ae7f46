// The parts of videojs' m3u8-parser (a test dependency, the independent judge of our playlists) the tests read.
declare module 'm3u8-parser' {
  export interface ParsedSegment {
    uri: string;
    duration: number;
    discontinuity?: boolean;
    dateTimeString?: string;
    map?: { uri: string };
    timeline: number;
  }
  export interface ParsedPlaylist {
    targetDuration?: number;
    mediaSequence?: number;
    discontinuitySequence?: number;
    endList?: boolean;
    independentSegments?: boolean;
    segments: ParsedSegment[];
    playlists?: { uri: string; attributes: Record<string, string | number> }[];
  }
  export class Parser {
    push(chunk: string): void;
    end(): void;
    manifest: ParsedPlaylist;
  }
}
