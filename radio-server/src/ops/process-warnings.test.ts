import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LEVEL, memoryLogger } from '../publish/testing/memory-log.js';
import { logProcessWarnings, type WarningSource } from './process-warnings.js';

describe(logProcessWarnings.name, () => {
  it('logs a warning as a WARN line with its stack, instead of Node\'s plain-text printer, until undone', () => {
    const { log, lines } = memoryLogger();
    const target = new EventEmitter();
    const printed: Error[] = [];
    const printer = (warning: Error) => void printed.push(warning);
    target.on('warning', printer);
    const undo = logProcessWarnings(log, target as unknown as WarningSource);
    const warning = Object.assign(new Error('Possible EventTarget memory leak detected. 11 abort listeners added to [AbortSignal]'), { name: 'MaxListenersExceededWarning' });
    target.emit('warning', warning);
    expect(printed).toEqual([]);
    expect(lines).toMatchObject([{ level: LEVEL.warn, msg: `MaxListenersExceededWarning: ${warning.message}`, err: { message: warning.message, stack: warning.stack } }]);
    undo();
    target.emit('warning', warning);
    expect(printed).toEqual([warning]);
    expect(lines).toHaveLength(1);
  });

  it('takes the warnings of this process', async () => {
    const { log, lines } = memoryLogger();
    const before = process.listeners('warning');
    const undo = logProcessWarnings(log);
    try {
      expect(process.listeners('warning').filter((l) => before.includes(l))).toEqual([]); // Node's printer is off
      process.emitWarning('a test warning', 'TestWarning');
      await new Promise((resolve) => setImmediate(resolve)); // emitted on the next tick
    } finally {
      undo();
    }
    expect(lines.map((l) => l.msg)).toEqual(['TestWarning: a test warning']);
    expect(process.listeners('warning')).toEqual(before);
  });
});
