import type { LevelReading } from './level-meter.js';
import type { LogDestination } from './logger.js';

/** What the status line shows, each as last reported. */
export interface StatusFields {
  levels: LevelReading;
  lastSeq: number;
  /** Time the last segment took to publish. */
  uploadSeconds: number;
  clockOffsetMs: number;
  /** Why the station is not publishing ('' while it is). */
  store: string;
  /** Why the archive is not recording ('' while it is). */
  archive: string;
}

/** A stream the status line may draw on: stderr, when it is a terminal. */
export interface StatusStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

export interface StatusLineOptions {
  /** Least time between two redraws. */
  intervalMs?: number;
  /** A monotonic clock in ms; injected for tests. */
  now?: () => number;
}

/** Carriage return, then erase the whole line. */
const CLEAR_LINE = '\r\x1b[2K';

const level = (dbfs: number) => (dbfs === -Infinity ? '-inf' : dbfs.toFixed(1));

/**
 * A live one-line summary at the bottom of the terminal: levels per channel, the last segment, upload
 * time and clock offset, redrawn at most once a second. It is also the log's destination (see
 * `createLogger({ destination })`): each log line clears it, is written, and it is drawn again below,
 * so log lines are never torn. On anything but a terminal it draws nothing and passes log lines through.
 */
export class StatusLine implements LogDestination {
  readonly #stream: StatusStream;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #fields: Partial<StatusFields> = {};
  #text = '';
  #lastDrawAt = -Infinity;
  #closed = false;

  constructor(stream: StatusStream = process.stderr, options: StatusLineOptions = {}) {
    this.#stream = stream;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Whether anything is drawn at all: only on a terminal. */
  get enabled(): boolean {
    return this.#stream.isTTY === true && !this.#closed;
  }

  /** Takes new values; redraws if the last redraw is at least the interval old. */
  update(fields: Partial<StatusFields>): void {
    Object.assign(this.#fields, fields);
    if (!this.enabled || this.#now() - this.#lastDrawAt < this.#intervalMs) return;
    this.#lastDrawAt = this.#now();
    this.#text = this.#render();
    this.#stream.write(CLEAR_LINE + this.#text);
  }

  /** Writes one log line (ending in a newline) above the status line. */
  write(line: string): void {
    this.#stream.write(this.#text ? `${CLEAR_LINE}${line}${this.#text}` : line);
  }

  /** Erases the status line for good (shutdown); log lines still pass through. */
  close(): void {
    if (this.#text) this.#stream.write(CLEAR_LINE);
    this.#text = '';
    this.#closed = true;
  }

  #render(): string {
    const { levels, lastSeq, uploadSeconds, clockOffsetMs, store, archive } = this.#fields;
    const parts: string[] = [];
    // What needs the operator first: a wrapped line is cut at its end.
    if (store) parts.push(store);
    if (archive) parts.push(`ARCHIVE: ${archive}`);
    if (levels) {
      const names = levels.peakDbfs.length === 1 ? ['M'] : ['L', 'R'];
      parts.push(`${names.map((name, i) => `${name} ${level(levels.peakDbfs[i]!)}/${level(levels.rmsDbfs[i]!)}`).join('  ')} dBFS peak/rms`);
      if (levels.clipped > 0) parts.push('CLIPPING');
      if (levels.silenceSeconds >= 1) parts.push(`silent ${levels.silenceSeconds.toFixed(0)} s`);
    } else {
      parts.push('waiting for audio');
    }
    parts.push(`segment ${lastSeq ?? '-'}`);
    parts.push(`upload ${uploadSeconds === undefined ? '-' : `${uploadSeconds.toFixed(2)} s`}`);
    if (clockOffsetMs !== undefined) parts.push(`clock ${clockOffsetMs >= 0 ? '+' : ''}${(clockOffsetMs / 1000).toFixed(1)} s`);
    const text = parts.join(' | ');
    // A wrapped line could not be erased with one CLEAR_LINE.
    const columns = this.#stream.columns;
    return columns && text.length >= columns ? text.slice(0, columns - 1) : text;
  }
}
