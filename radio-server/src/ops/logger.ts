import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

/** Keys whose values never reach a log line, at any depth we log (secrets, credentials). */
const REDACTED_PATHS = ['secretKey', '*.secretKey', 'secretAccessKey', '*.secretAccessKey', 'credentials', '*.credentials', 'authorization', '*.authorization', '*.headers.authorization'];

/** Where log lines go: anything with a synchronous `write` of one whole line (e.g. the status line). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  level?: string;
  /** Readable lines instead of JSON; default: when stderr is a terminal (JSON for journald). */
  pretty?: boolean;
  /** Default: stderr, written synchronously so nothing is lost when the process exits. */
  destination?: LogDestination;
}

/** The daemon's logger: JSON lines on stderr for journald, readable lines on a terminal. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const base = { level, base: undefined, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  const destination = options.destination ?? pino.destination({ dest: 2, sync: true });
  if (options.pretty ?? process.stderr.isTTY) {
    // Loaded only for a terminal: pino-pretty costs a tenth of a second of start-up, which every
    // `radio-server encode` under journald or a script would pay for nothing. Formatting in the write call
    // (rather than through pino-pretty's stream) keeps each line one synchronous write, which the status
    // line relies on to clear itself first.
    const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const format = prettyFactory({ ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' });
    return pino(base, { write: (line: string) => destination.write(format(line)) });
  }
  return pino(base, destination as pino.DestinationStream);
}
