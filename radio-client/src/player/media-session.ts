/** What the OS media controls may do with the player. */
export interface MediaSessionActions {
  play(): void;
  stop(): void;
}

/** What plays: the station and, when the station names it, the show. */
export interface NowPlaying {
  station: string;
  /** The show on air (no manifest carries one yet: protocol v2 has no field for it). */
  show?: string | undefined;
}

/** Whether the listener is listening (or about to), has stopped, or has not begun. */
export type SessionPlayback = 'playing' | 'paused' | 'none';

let shown: string | undefined;
/** The player the OS controls act on now (the last one to tell them anything). */
let owner: MediaSessionActions | undefined;

/**
 * Tells the OS (media keys, lock screen, notification, a car's display) what plays and how to stop
 * and start it again: title = the show (or the station), artist = the station (or "Live radio").
 * Pause and Stop stop (a live stream has nothing to resume); Play starts at the live edge. Browsers
 * without the Media Session API skip it.
 */
export function updateMediaSession(playing: NowPlaying, playback: SessionPlayback, actions: MediaSessionActions): void {
  if (typeof navigator === 'undefined' || !('mediaSession' in navigator)) return;
  const session = navigator.mediaSession;
  const metadata = playing.show ? { title: playing.show, artist: playing.station } : { title: playing.station, artist: 'Live radio' };
  // A new MediaMetadata makes some OSes redraw their controls: only when it changed.
  const key = JSON.stringify(metadata);
  if (key !== shown || !session.metadata) {
    session.metadata = new MediaMetadata(metadata);
    shown = key;
  }
  session.playbackState = playback;
  owner = actions;
  session.setActionHandler('play', () => actions.play());
  session.setActionHandler('pause', () => actions.stop());
  session.setActionHandler('stop', () => actions.stop());
}

/** Takes `actions`' player off the OS controls (the element left the page), if they act on it. */
export function clearMediaSession(actions: MediaSessionActions): void {
  if (typeof navigator === 'undefined' || !('mediaSession' in navigator) || owner !== actions) return;
  owner = undefined;
  const session = navigator.mediaSession;
  session.metadata = null;
  session.playbackState = 'none';
  for (const action of ['play', 'pause', 'stop'] as const) session.setActionHandler(action, null);
  shown = undefined;
}
