import type { Manifest } from '@radio/protocol';

/**
 * Who publishes to a bucket and prefix: the object `.station-lock` beside the manifest, written by a daemon
 * when it goes on air and deleted when it signs off. Players never read it (it is not part of the
 * protocol); it tells a second daemon whom it would be fighting.
 */
export const STATION_LOCK_KEY = '.station-lock';

/** The lock's content. */
export interface StationLock {
  /** One per process (a random id), so a daemon knows its own lock after a reconnect. */
  instance: string;
  station: string;
  host: string;
  pid: number;
  /** When it went on air (ISO 8601). */
  since: string;
}

/** The lock as stored, or undefined if the text is not one (a missing or foreign object). */
export function parseStationLock(text: string | undefined): StationLock | undefined {
  if (text === undefined) return undefined;
  try {
    const lock = JSON.parse(text) as Partial<StationLock>;
    return typeof lock.instance === 'string' && typeof lock.host === 'string' && typeof lock.pid === 'number' ? { station: '', since: '', ...lock } as StationLock : undefined;
  } catch {
    return undefined;
  }
}

export interface LockState {
  /** The bucket's manifest, if any (its `live` and `updatedAt` tell whether someone is on air). */
  manifest: Manifest | undefined;
  lock: StationLock | undefined;
  me: Pick<StationLock, 'instance' | 'host'>;
  /** The endpoint's time now (ms): `updatedAt` is compared with it. */
  now: number;
  /** A manifest not updated for this long belongs to no one on air (its daemon stopped or lost the network). */
  staleAfterMs: number;
  /** `--takeover`: go on air whoever is there. */
  takeover: boolean;
  /** Whether a process of this host is alive (a lock of this host whose pid is gone is a crashed daemon's). */
  isAlive: (pid: number) => boolean;
}

export type LockVerdict = { onAir: true; note?: string } | { onAir: false; message: string };

/**
 * Whether this daemon may go on air (pure). It may unless another daemon is: the manifest says `live: true`,
 * was updated less than `staleAfterMs` ago, and the lock (if any) is not this process's and not a dead
 * process's of this host. `--takeover` goes on air anyway.
 */
export function lockVerdict(state: LockState): LockVerdict {
  const { manifest, lock, me, now } = state;
  if (lock?.instance === me.instance) return { onAir: true };
  const updatedAt = manifest ? Date.parse(manifest.updatedAt) : NaN;
  const ageMs = now - updatedAt;
  const live = manifest?.live === true && Number.isFinite(ageMs) && ageMs < state.staleAfterMs;
  const holder = lock ? `"${lock.station}" on host ${lock.host} (pid ${lock.pid})` : `"${manifest?.station ?? ''}" (a daemon that writes no lock)`;
  if (!live) return { onAir: true, ...(lock && { note: `taking over the bucket from ${holder}, which is off air` }) };
  if (lock && lock.host === me.host && !state.isAlive(lock.pid)) return { onAir: true, note: `taking over the bucket from ${holder}, which is no longer running` };
  const last = `last published ${manifest!.updatedAt} (${Math.max(0, Math.round(ageMs / 1000))} s ago)`;
  if (state.takeover) return { onAir: true, note: `--takeover: taking over the bucket from ${holder}, ${last}; it stops publishing at its next segment` };
  return { onAir: false, message: `another radio-server is on air on this bucket and prefix: ${holder}, ${last}; stop it first, or start this one with --takeover` };
}

/** Whether a pid of this host is alive (signal 0). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
