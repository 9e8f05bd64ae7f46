import { describe, expect, it } from 'vitest';
import { Health } from './health.js';

/** A health with a fake monotonic clock and a fake archive. */
function health() {
  const clock = { now: 0 };
  const archive = { ok: true, detail: 'recording 2026-11-23T22-00-00Z.flac (12 s)' };
  const h = new Health({ segmentSeconds: 10, now: () => clock.now, archive: () => archive });
  h.captured();
  return { clock, archive, h };
}

describe(Health.name, () => {
  it('fails uploads while not on air: after a failed attempt at once, else after a segment without an answer', () => {
    const { clock, h } = health();
    expect(h.report().parts.uploads).toEqual({ ok: true, detail: 'connecting to the store' });
    clock.now = 10_001;
    h.captured();
    expect(h.report().parts.uploads).toEqual({ ok: false, detail: 'not on air: the store has not answered for 10.0 s' });
    h.connectFailed('AccessDenied: check the token');
    expect(h.report()).toMatchObject({ ok: false, failing: ['uploads'], parts: { uploads: { detail: 'not on air (1 attempts to connect): AccessDenied: check the token' } } });
    h.onAir();
    expect(h.report().ok).toBe(true);
  });

  it('fails uploads when the store has not answered for a segment while one waits (a black hole fails nothing for a while)', () => {
    const { clock, h } = health();
    h.onAir();
    h.queued(1);
    clock.now = 9000;
    h.captured();
    expect(h.report().ok).toBe(true);
    clock.now = 10_500;
    h.captured();
    expect(h.report().parts.uploads).toEqual({ ok: false, detail: 'the store has not answered for 10.5 s (a segment is 10 s); 1 segments waiting' });
    h.published(7, 12);
    h.queued(1); // the next one waits, but the store just answered
    expect(h.report().ok).toBe(true);
    h.queued(0);
    clock.now = 60_000;
    h.captured();
    h.encoded();
    expect(h.report().ok).toBe(true); // nothing waiting: a quiet store is fine
  });

  it('says who took the bucket over, and reports the archive as it reports itself', () => {
    const { archive, h } = health();
    h.onAir();
    h.offAir('another radio-server took over this bucket and prefix');
    archive.ok = false;
    archive.detail = 'the recordings disk is full';
    expect(h.report()).toMatchObject({
      failing: ['uploads', 'archive'],
      parts: { uploads: { detail: 'off air: another radio-server took over this bucket and prefix' }, archive: { ok: false, detail: 'the recordings disk is full' } },
    });
  });
});
