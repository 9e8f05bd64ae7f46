import type { Logger } from './logger.js';

export interface RateLimitedLogOptions {
  log: Logger;
  /** After the first line of a cause, at most one line per this many ms for it (default one minute). */
  intervalMs?: number;
  /** Milliseconds of a monotonic or wall clock; injected so that tests need no sleeps. */
  now?: () => number;
}

type Level = 'error' | 'warn';

interface CauseState {
  /** When the last line of this cause was written. */
  loggedAt: number;
  /** Occurrences since then that were not logged. */
  unlogged: number;
  level: Level;
  fields: Record<string, unknown>;
  message: string;
}

/**
 * A log for errors that repeat (a store refusing every request): the first occurrence of each cause is
 * logged in full, then at most one line per interval per cause, which says how many more occurred
 * since the last one. A cause quiet for a whole interval is logged in full again.
 */
export class RateLimitedLog {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #causes = new Map<string, CauseState>();

  constructor(options: RateLimitedLogOptions) {
    this.#log = options.log;
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** One occurrence of `cause`, logged at ERROR unless its cause was logged less than an interval ago. */
  error(cause: string, fields: Record<string, unknown>, message: string): void {
    this.#occurred('error', cause, fields, message);
  }

  /** One occurrence of `cause`, logged at WARN unless its cause was logged less than an interval ago. */
  warn(cause: string, fields: Record<string, unknown>, message: string): void {
    this.#occurred('warn', cause, fields, message);
  }

  /** Writes how many occurrences of each cause were not logged yet (at shutdown), and forgets every cause. */
  flush(): void {
    for (const [cause, state] of this.#causes) {
      if (state.unlogged > 0) this.#write(state.level, cause, state.fields, `${state.unlogged} more since the last line like this; the last: ${state.message}`, state.unlogged);
    }
    this.#causes.clear();
  }

  #occurred(level: Level, cause: string, fields: Record<string, unknown>, message: string): void {
    const now = this.#now();
    const state = this.#causes.get(cause);
    if (state && now - state.loggedAt < this.#intervalMs) {
      Object.assign(state, { unlogged: state.unlogged + 1, level, fields, message });
      return;
    }
    const unlogged = state?.unlogged ?? 0;
    this.#causes.set(cause, { loggedAt: now, unlogged: 0, level, fields, message });
    if (unlogged === 0) this.#write(level, cause, fields, message);
    else this.#write(level, cause, fields, `${message} (${unlogged} more like this since the last such line)`, unlogged);
  }

  #write(level: Level, cause: string, fields: Record<string, unknown>, message: string, repeated?: number): void {
    this.#log[level]({ ...fields, cause, ...(repeated !== undefined && { repeated }) }, message);
  }
}
