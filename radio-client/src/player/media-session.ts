/** What the OS media controls may do with the player. */
export interface MediaSessionActions {
  play(): void;
  stop(): void;
}

/**
 * Tells the OS (media keys, lock screen, notification) what plays and how to stop it. Browsers
 * without the Media Session API simply skip it.
 */
export function updateMediaSession(title: string, playing: boolean, actions: MediaSessionActions): void {
  if (typeof navigator === 'undefined' || !('mediaSession' in navigator)) return;
  const session = navigator.mediaSession;
  session.metadata = new MediaMetadata({ title, artist: 'Live radio' });
  session.playbackState = playing ? 'playing' : 'paused';
  session.setActionHandler('play', () => actions.play());
  session.setActionHandler('pause', () => actions.stop());
  session.setActionHandler('stop', () => actions.stop());
}
