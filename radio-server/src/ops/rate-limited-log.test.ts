import { describe, expect, it } from 'vitest';
import { LEVEL, memoryLogger } from '../publish/testing/memory-log.js';
import { RateLimitedLog } from './rate-limited-log.js';

function setup() {
  const { log, lines } = memoryLogger();
  const clock = { ms: 0 };
  const limited = new RateLimitedLog({ log, now: () => clock.ms });
  return { limited, lines, clock };
}

describe(RateLimitedLog.name, () => {
  it('logs the first occurrence in full, then at most one line a minute per cause with the count of the rest', () => {
    const { limited, lines, clock } = setup();
    // A steady fault, once a second for three minutes.
    for (; clock.ms <= 180_000; clock.ms += 1000) limited.error('AccessDenied', { seq: clock.ms / 1000 }, `publishing segment ${clock.ms / 1000} failed`);
    expect(lines.map((l) => [l.level, l.msg, l.seq, l.repeated])).toEqual([
      [LEVEL.error, 'publishing segment 0 failed', 0, undefined],
      [LEVEL.error, 'publishing segment 60 failed (59 more like this since the last such line)', 60, 59],
      [LEVEL.error, 'publishing segment 120 failed (59 more like this since the last such line)', 120, 59],
      [LEVEL.error, 'publishing segment 180 failed (59 more like this since the last such line)', 180, 59],
    ]);
    expect(lines.every((l) => l.cause === 'AccessDenied')).toBe(true);
  });

  it('keeps each cause apart', () => {
    const { limited, lines, clock } = setup();
    limited.error('AccessDenied', {}, 'denied');
    limited.error('AccessDenied', {}, 'denied');
    clock.ms = 10_000;
    limited.warn('ECONNREFUSED', {}, 'refused');
    limited.error('AccessDenied', {}, 'denied');
    limited.warn('ECONNREFUSED', {}, 'refused');
    expect(lines.map((l) => [l.level, l.cause, l.msg])).toEqual([
      [LEVEL.error, 'AccessDenied', 'denied'],
      [LEVEL.warn, 'ECONNREFUSED', 'refused'],
    ]);
  });

  it('logs a cause in full again after a quiet interval', () => {
    const { limited, lines, clock } = setup();
    limited.error('SlowDown', {}, 'slow');
    clock.ms = 60_000;
    limited.error('SlowDown', {}, 'slow again');
    expect(lines.map((l) => [l.msg, l.repeated])).toEqual([['slow', undefined], ['slow again', undefined]]);
  });

  it('flush() says how many were not logged yet, once, and then starts afresh', () => {
    const { limited, lines, clock } = setup();
    limited.error('AccessDenied', { seq: 1 }, 'segment 1 failed');
    clock.ms = 1000;
    limited.error('AccessDenied', { seq: 2 }, 'segment 2 failed');
    limited.error('AccessDenied', { seq: 3 }, 'segment 3 failed');
    limited.flush();
    limited.flush();
    limited.error('AccessDenied', { seq: 4 }, 'segment 4 failed');
    expect(lines.map((l) => [l.msg, l.seq, l.repeated])).toEqual([
      ['segment 1 failed', 1, undefined],
      ['2 more since the last line like this; the last: segment 3 failed', 3, 2],
      ['segment 4 failed', 4, undefined],
    ]);
  });
});
