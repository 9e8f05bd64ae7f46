import { STREAM_MIME_TYPES, STREAM_NAMES, type StreamName } from '@radio/protocol';

/**
 * Each stream's MIME type in the spellings browsers accept: the protocol's (`fLaC`, `Opus`: the sample
 * entry names, which Safari requires) first, then the lower-case ones older Chromium and Firefox knew.
 */
export const MIME_SPELLINGS: Record<StreamName, readonly string[]> = {
  hq: [STREAM_MIME_TYPES.hq, 'audio/mp4; codecs="flac"'],
  lq: [STREAM_MIME_TYPES.lq, 'audio/mp4; codecs="opus"'],
};

/** The MIME type to open a SourceBuffer with, per stream this browser's MSE can play. */
export type PlayableTypes = Partial<Record<StreamName, string>>;

/** The first spelling of each stream that `isTypeSupported` accepts; streams it accepts in none are left out. */
export function playableTypes(isTypeSupported: (type: string) => boolean): PlayableTypes {
  const types: PlayableTypes = {};
  for (const stream of STREAM_NAMES) {
    const type = MIME_SPELLINGS[stream].find((t) => isTypeSupported(t));
    if (type) types[stream] = type;
  }
  return types;
}

/** The Media Source Extensions a browser offers: which constructor, and what it can play. */
export interface MseEngine {
  create(): MediaSource;
  /** ManagedMediaSource (Safari 17.1+): needs `disableRemotePlayback` on the element. */
  managed: boolean;
  types: PlayableTypes;
}

interface MseGlobals {
  ManagedMediaSource?: typeof MediaSource;
  MediaSource?: typeof MediaSource;
}

/**
 * ManagedMediaSource where it exists (the only MSE of iPhone Safari), else MediaSource; undefined
 * when the browser has neither, or neither plays either stream (then the player hands the HLS
 * playlist to the element instead).
 */
export function mseEngine(globals: MseGlobals = globalThis as MseGlobals): MseEngine | undefined {
  const managed = globals.ManagedMediaSource;
  const Source = managed ?? globals.MediaSource;
  if (!Source) return undefined;
  const types = playableTypes((type) => Source.isTypeSupported(type));
  if (!types.hq && !types.lq) return undefined;
  return { create: () => new Source(), managed: managed !== undefined, types };
}
