import pino from 'pino';
import type { Logger } from '../../ops/logger.js';

/** One parsed log line. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A logger that keeps every line in memory (JSON, all levels), for tests that assert on logs. */
export function memoryLogger(): { log: Logger; lines: LogLine[]; text: () => string } {
  const raw: string[] = [];
  const lines: LogLine[] = [];
  const log = pino({ level: 'trace', base: undefined }, { write: (line: string) => void (raw.push(line), lines.push(JSON.parse(line) as LogLine)) });
  return { log, lines, text: () => raw.join('') };
}

/** pino's numeric levels, for assertions. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
