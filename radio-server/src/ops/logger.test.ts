import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe(createLogger.name, () => {
  const capture = () => {
    const lines: string[] = [];
    return { lines, destination: { write: (line: string) => lines.push(line) } };
  };

  it('writes one JSON line per call off a terminal, with secrets redacted', () => {
    const { lines, destination } = capture();
    createLogger({ pretty: false, destination }).info({ storage: { secretKey: 'hunter2', bucket: 'radio' } }, 'on air');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, msg: 'on air', storage: { secretKey: '[redacted]', bucket: 'radio' } });
  });

  it('writes one readable line per call on a terminal, each in a single write', () => {
    const { lines, destination } = capture();
    const log = createLogger({ pretty: true, level: 'debug', destination });
    log.warn({ seq: 12, secretKey: 'hunter2' }, 'dropped segment 12');
    log.debug('details');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] .*WARN.*: dropped segment 12\n/);
    expect(lines[0]).toContain('seq: 12');
    expect(lines[0]).not.toContain('hunter2');
    expect(lines[0]).not.toMatch(/pid|hostname/);
    expect(lines[1]).toMatch(/DEBUG.*: details\n$/);
  });
});
