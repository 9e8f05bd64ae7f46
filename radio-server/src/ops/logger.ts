import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

/** Keys whose values never reach a log line, at any depth we log (secrets, credentials). */
const REDACTED_PATHS = ['secretKey', '*.secretKey', 'secretAccessKey', '*.secretAccessKey', 'credentials', '*.credentials', 'authorization', '*.authorization', '*.headers.authorization'];

export interface LoggerOptions {
  level?: string;
  /** Readable lines instead of JSON; default: when stderr is a terminal (JSON for journald). */
  pretty?: boolean;
}

/** The daemon's logger: JSON lines on stderr for journald, readable lines on a terminal. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const base = { level, base: undefined, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (options.pretty ?? process.stderr.isTTY) {
    // Loaded only for a terminal: pino-pretty costs a tenth of a second of start-up, which every
    // `radio-server encode` under journald or a script would pay for nothing.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino(base, pretty({ destination: 2, sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}
