import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearMediaSession, updateMediaSession, type MediaSessionActions } from './media-session.ts';

/** navigator.mediaSession as a page script sees it, recording what the player sets. */
class FakeMediaSession {
  metadata: { title: string; artist: string } | null = null;
  playbackState = 'none';
  metadataChanges = 0;
  readonly handlers = new Map<string, (() => void) | null>();
  setActionHandler(action: string, handler: (() => void) | null) {
    this.handlers.set(action, handler);
  }
}

let session: FakeMediaSession;

beforeEach(() => {
  session = new FakeMediaSession();
  const tracked = session;
  let metadata: FakeMediaSession['metadata'] = null;
  Object.defineProperty(tracked, 'metadata', {
    get: () => metadata,
    set: (value) => {
      metadata = value;
      tracked.metadataChanges++;
    },
  });
  vi.stubGlobal('navigator', { mediaSession: session });
  vi.stubGlobal('MediaMetadata', class {
    constructor(init: object) {
      Object.assign(this, init);
    }
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
});

function player(): MediaSessionActions & { log: string[] } {
  const log: string[] = [];
  return { log, play: () => log.push('play'), stop: () => log.push('stop') };
}

describe(updateMediaSession.name, () => {
  it('names the station, and the show when there is one', () => {
    const actions = player();
    updateMediaSession({ station: 'KXYZ' }, 'playing', actions);
    expect(session.metadata).toMatchObject({ title: 'KXYZ', artist: 'Live radio' });
    expect(session.playbackState).toBe('playing');
    updateMediaSession({ station: 'KXYZ', show: 'Night Shift' }, 'playing', actions);
    expect(session.metadata).toMatchObject({ title: 'Night Shift', artist: 'KXYZ' });
  });

  it('sets the metadata again only when it changed', () => {
    const actions = player();
    updateMediaSession({ station: 'KXYZ' }, 'playing', actions);
    updateMediaSession({ station: 'KXYZ' }, 'paused', actions);
    expect(session.metadataChanges).toBe(1);
    expect(session.playbackState).toBe('paused');
  });

  it('plays on Play, and stops on Pause and on Stop (a live stream has nothing to resume)', () => {
    const actions = player();
    updateMediaSession({ station: 'KXYZ' }, 'playing', actions);
    for (const action of ['pause', 'play', 'stop']) session.handlers.get(action)!();
    expect(actions.log).toEqual(['stop', 'play', 'stop']);
  });

  it("leaves the OS controls when its player goes, not when another one does", () => {
    const first = player();
    const second = player();
    updateMediaSession({ station: 'KXYZ' }, 'playing', first);
    clearMediaSession(second);
    expect(session.metadata).not.toBeNull();
    clearMediaSession(first);
    expect(session.metadata).toBeNull();
    expect(session.playbackState).toBe('none');
    expect([...session.handlers.values()]).toEqual([null, null, null]);
  });
});
