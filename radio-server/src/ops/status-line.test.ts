import { describe, expect, it } from 'vitest';
import type { LevelReading } from './level-meter.js';
import { createLogger } from './logger.js';
import { StatusLine, type StatusStream } from './status-line.js';

const CLEAR_LINE = '\r\x1b[2K';

/** What a stream was given, write by write; a terminal when `isTTY`. */
function capture(isTTY: boolean, columns = 200) {
  const writes: string[] = [];
  const stream: StatusStream = { isTTY, columns, write: (chunk: string) => writes.push(chunk) };
  return { stream, writes };
}

const levels = (peak: number[], rms: number[], extra: Partial<LevelReading> = {}): LevelReading => ({ peakDbfs: peak, rmsDbfs: rms, clipped: 0, silenceSeconds: 0, ...extra });

describe(StatusLine.name, () => {
  it('writes nothing of its own when stderr is not a terminal, and passes log lines through', () => {
    const { stream, writes } = capture(false);
    const status = new StatusLine(stream, { now: () => 0 });
    expect(status.enabled).toBe(false);
    for (let i = 0; i < 5; i++) status.update({ levels: levels([-6, -7], [-9, -10]), lastSeq: i, uploadSeconds: 0.4, clockOffsetMs: 300 });
    const log = createLogger({ pretty: false, destination: status });
    log.info('segment published');
    status.close();
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0]!)).toMatchObject({ msg: 'segment published' });
  });

  it('on a terminal shows levels, last segment, upload time and clock offset, redrawn at most once a second', () => {
    const { stream, writes } = capture(true);
    let now = 0;
    const status = new StatusLine(stream, { now: () => now });
    status.update({ levels: levels([-6.02, -20], [-9.03, -23.01]), clockOffsetMs: 312 });
    expect(writes).toEqual([`${CLEAR_LINE}L -6.0/-9.0  R -20.0/-23.0 dBFS peak/rms | segment - | upload - | clock +0.3 s`]);

    now = 500;
    status.update({ lastSeq: 177_000_123, uploadSeconds: 0.42 });
    expect(writes).toHaveLength(1);
    now = 1000;
    status.update({ levels: levels([-Infinity], [-Infinity], { silenceSeconds: 12 }) });
    expect(writes).toHaveLength(2);
    expect(writes[1]).toBe(`${CLEAR_LINE}M -inf/-inf dBFS peak/rms | silent 12 s | segment 177000123 | upload 0.42 s | clock +0.3 s`);
  });

  it('clears itself before each log line and draws again below it, so pino-pretty lines stay whole', () => {
    const { stream, writes } = capture(true);
    const status = new StatusLine(stream, { now: () => 0 });
    const log = createLogger({ pretty: true, destination: status });
    log.info('before the first draw');
    status.update({ levels: levels([0, -1], [-3, -4], { clipped: 12 }), lastSeq: 7 });
    log.warn({ seq: 8 }, 'upload queue full: dropped segment 8');
    status.close();
    log.info('after close');

    const text = 'L 0.0/-3.0  R -1.0/-4.0 dBFS peak/rms | CLIPPING | segment 7 | upload -';
    expect(writes).toHaveLength(5);
    expect(writes[0]).toMatch(/^\[[\d:.]+\] .*INFO.*: before the first draw\n$/);
    expect(writes[1]).toBe(CLEAR_LINE + text);
    // One write: clear, the whole log line, the status line again.
    expect(writes[2]!.startsWith(CLEAR_LINE)).toBe(true);
    expect(writes[2]!.endsWith(`\n${text}`)).toBe(true);
    expect(writes[2]).toMatch(/WARN.*: upload queue full: dropped segment 8\n/);
    expect(writes[3]).toBe(CLEAR_LINE);
    expect(writes[4]).toMatch(/INFO.*: after close\n$/);
  });

  it('never wraps: the line is cut to the terminal width', () => {
    const { stream, writes } = capture(true, 40);
    new StatusLine(stream, { now: () => 0 }).update({ levels: levels([-6, -7], [-9, -10]), lastSeq: 1 });
    expect(writes[0]).toBe(`${CLEAR_LINE}${'L -6.0/-9.0  R -7.0/-10.0 dBFS peak/rms | segment 1'.slice(0, 39)}`);
  });
});
