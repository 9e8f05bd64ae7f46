import type { Manifest } from '@radio/protocol';
import { describe, expect, it } from 'vitest';
import { lockVerdict, parseStationLock, type LockState } from './station-lock.js';

const NOW = Date.parse('2026-12-01T23:00:10.000Z');
const manifest = (live: boolean, secondsAgo: number) => ({ live, station: 'KXYZ', updatedAt: new Date(NOW - secondsAgo * 1000).toISOString() }) as Manifest;
const other = { instance: 'b', station: 'KXYZ', host: 'studio', pid: 4242, since: '2026-12-01T20:00:00.000Z' };
const state = (more: Partial<LockState>): LockState => ({ manifest: undefined, lock: undefined, me: { instance: 'a', host: 'studio' }, now: NOW, staleAfterMs: 30_000, takeover: false, isAlive: () => true, ...more });

describe(lockVerdict.name, () => {
  it('refuses while another daemon is on air, in one sentence: which station, when it last published, how to take over', () => {
    expect(lockVerdict(state({ manifest: manifest(true, 4), lock: { ...other, host: 'backup' } }))).toEqual({
      onAir: false,
      message: 'another radio-server is on air on this bucket and prefix: "KXYZ" on host backup (pid 4242), last published 2026-12-01T23:00:06.000Z (4 s ago); stop it first, or start this one with --takeover',
    });
  });

  it('goes on air when the bucket is free: no manifest, off air, stale, its own lock, a crashed daemon of this host, or --takeover', () => {
    expect(lockVerdict(state({}))).toEqual({ onAir: true });
    expect(lockVerdict(state({ manifest: manifest(false, 1), lock: other })).onAir).toBe(true);
    expect(lockVerdict(state({ manifest: manifest(true, 31), lock: other })).onAir).toBe(true);
    expect(lockVerdict(state({ manifest: manifest(true, 1), lock: { ...other, instance: 'a' } }))).toEqual({ onAir: true });
    expect(lockVerdict(state({ manifest: manifest(true, 1), lock: other, isAlive: () => false }))).toMatchObject({ onAir: true, note: expect.stringContaining('no longer running') });
    expect(lockVerdict(state({ manifest: manifest(true, 1), lock: other, takeover: true }))).toMatchObject({ onAir: true, note: expect.stringMatching(/^--takeover/) });
  });

  it('a live manifest without a lock (an older daemon) still counts as on air', () => {
    expect(lockVerdict(state({ manifest: manifest(true, 2) }))).toMatchObject({ onAir: false });
  });
});

describe(parseStationLock.name, () => {
  it('reads a lock and ignores anything else', () => {
    expect(parseStationLock(JSON.stringify(other))).toEqual(other);
    expect(parseStationLock('not json')).toBeUndefined();
    expect(parseStationLock('{"hello":1}')).toBeUndefined();
    expect(parseStationLock(undefined)).toBeUndefined();
  });
});
