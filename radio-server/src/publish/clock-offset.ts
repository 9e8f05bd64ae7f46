import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Logger } from '../ops/logger.js';
import { deadlineSignal } from '../shared/abort.js';
import { asStorageError, StorageError } from './s3-errors.js';
import type { S3Target, SigningClock } from './s3-store.js';

/*
 * Why measure the offset ourselves. The SDK signs with `Date.now() + config.systemClockOffset` and moves that
 * offset from the `Date` header of responses (and `ServerTime` of a RequestTimeTooSkewed error), but only
 * after a request has come back. Requests already signed in parallel fail with the old offset, and were not
 * retried at all before the fix of aws/aws-sdk-js-v3#8005 (PR #8009: a per-request snapshot of the offset).
 * Measuring before the first PUT, and every few minutes, means every request, parallel ones included, is
 * signed with corrected time on its first attempt. As smithy-rs#4800 does, the server's time is compared
 * with the midpoint of send and receive, so the round trip is not mistaken for skew.
 */

/** When the offset is measured and how loudly it is reported. */
export const CLOCK_OFFSET_POLICY = {
  intervalMs: 5 * 60_000,
  warnAboveMs: 1000,
  /** R2 and S3 reject requests about 5 (R2) to 15 (S3) minutes off: at this point NTP is broken. */
  errorAboveMs: 5 * 60_000,
  timeoutMs: 10_000,
};

/** One measurement: add `offsetMs` to this host's clock to get the endpoint's, give or take `uncertaintyMs`. */
export interface ClockOffsetMeasurement {
  offsetMs: number;
  uncertaintyMs: number;
  /** HTTP status of the probe request: 200, or e.g. 403 when the credentials or the clock are refused. */
  status: number;
}

export interface MeasureOptions {
  /** This host's clock (ms since the epoch); injected so tests can skew it. */
  now?: () => number;
  /** Offset to sign the probe with, so that it is accepted once the offset is known. */
  signingOffsetMs?: number;
  timeoutMs?: number;
  /** Ends the probe at once (shutdown). */
  signal?: AbortSignal;
}

/**
 * Measures the offset between this host's clock and the endpoint's from the `Date` header of a signed HEAD
 * of the bucket (a 403 carries the header too). `Date` has whole seconds, hence at least ±0.5 s.
 */
export async function measureClockOffset(target: S3Target, options: MeasureOptions = {}): Promise<ClockOffsetMeasurement> {
  const now = options.now ?? Date.now;
  const url = new URL(target.endpoint);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(target.bucket)}`;
  const signer = new SignatureV4({ service: 's3', region: 'auto', credentials: target.credentials, sha256: Sha256, uriEscapePath: false });
  const request = new HttpRequest({
    method: 'HEAD',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    headers: { host: url.host },
  });
  const signed = await signer.sign(request, { signingDate: new Date(now() + (options.signingOffsetMs ?? 0)) });
  // fetch sets Host itself, from the same URL.
  const { host: _host, ...headers } = signed.headers;
  const sentAt = now();
  let response: Response;
  const deadline = deadlineSignal(options.signal, options.timeoutMs ?? CLOCK_OFFSET_POLICY.timeoutMs, `HEAD bucket ${target.bucket}`);
  try {
    response = await fetch(url, { method: 'HEAD', headers, signal: deadline.signal });
  } catch (error) {
    throw asStorageError(error, 'HEAD', `bucket ${target.bucket}`);
  } finally {
    deadline.dispose();
  }
  const receivedAt = now();
  const serverSecond = Date.parse(response.headers.get('date') ?? '');
  if (Number.isNaN(serverSecond)) {
    throw new StorageError('HEAD', `bucket ${target.bucket}`, {
      code: 'NoDateHeader',
      kind: 'other',
      hint: 'the endpoint\'s answer has no Date header, so the clock offset cannot be measured',
    });
  }
  // The server's clock read somewhere in the second it reports: its middle is the best estimate.
  const serverTime = serverSecond + 500;
  const roundTrip = receivedAt - sentAt;
  return { offsetMs: Math.round(serverTime - (sentAt + roundTrip / 2)), uncertaintyMs: Math.round(500 + roundTrip / 2), status: response.status };
}

/** "this host's clock is 20.0 min behind the endpoint's (±0.5 s)": the measurement in words. */
export function describeClockOffset(measurement: ClockOffsetMeasurement): string {
  const size = Math.abs(measurement.offsetMs);
  const amount = size >= 60_000 ? `${(size / 60_000).toFixed(1)} min` : `${(size / 1000).toFixed(1)} s`;
  const direction = measurement.offsetMs > 0 ? 'behind' : 'ahead of';
  return `this host's clock is ${amount} ${direction} the endpoint's (±${(measurement.uncertaintyMs / 1000).toFixed(1)} s)`;
}

export interface ClockOffsetOptions {
  target: S3Target;
  /** Where the offset is applied: the store whose client signs the requests. */
  clock: SigningClock;
  log: Logger;
  intervalMs?: number;
  /** Each probe at most this long (default 10 s; the daemon sizes it to the segment). */
  timeoutMs?: number;
  /** Ends a probe in flight at once (shutdown). */
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Keeps a signing clock's offset to the endpoint current: measured at start (before the first PUT) and
 * every `intervalMs`. Logs each measurement: info, warn above 1 s, error above 5 min (NTP is broken).
 */
export class ClockOffset {
  readonly #options: ClockOffsetOptions;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<ClockOffsetMeasurement | undefined> | undefined;
  #stopped = false;
  #measuredAt: number | undefined;

  constructor(options: ClockOffsetOptions) {
    this.#options = options;
  }

  /** Measures now, then every `intervalMs` until {@link stop}; resolves with the first measurement. */
  async start(): Promise<ClockOffsetMeasurement | undefined> {
    const first = await this.measure();
    this.schedule();
    return first;
  }

  /** Measures every `intervalMs` from now on, until {@link stop} (after a first {@link probe}). */
  schedule(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setInterval(() => void this.measure(), this.#options.intervalMs ?? CLOCK_OFFSET_POLICY.intervalMs);
    this.#timer.unref();
  }

  /** Whether the offset was measured less than `intervalMs` ago (a reconnect need not measure it again). */
  get current(): boolean {
    return this.#measuredAt !== undefined && performance.now() - this.#measuredAt < (this.#options.intervalMs ?? CLOCK_OFFSET_POLICY.intervalMs);
  }

  /**
   * Measures and applies the offset. A failed measurement (endpoint unreachable) is logged and leaves the
   * offset as it was; resolves with undefined then.
   */
  measure(): Promise<ClockOffsetMeasurement | undefined> {
    this.#inFlight ??= this.probe().catch((error: unknown) => {
      const { target, clock, log } = this.#options;
      const failure = asStorageError(error, 'HEAD', `bucket ${target.bucket}`);
      log.warn({ code: failure.code, kind: failure.kind }, `cannot measure the clock offset to the endpoint: ${failure.message}; keeping the offset of ${clock.clockOffsetMs} ms`);
      return undefined;
    }).finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  /** Measures and applies the offset; a failed measurement is thrown (a StorageError) and leaves the offset as it was. */
  async probe(): Promise<ClockOffsetMeasurement> {
    const { target, clock, log, signal, timeoutMs } = this.#options;
    const measurement = await measureClockOffset(target, { now: this.#options.now, signingOffsetMs: clock.clockOffsetMs, signal, timeoutMs });
    if (this.#stopped) return measurement;
    clock.clockOffsetMs = measurement.offsetMs;
    this.#measuredAt = performance.now();
    const fields = { clockOffsetMs: measurement.offsetMs, uncertaintyMs: measurement.uncertaintyMs };
    const size = Math.abs(measurement.offsetMs);
    const words = describeClockOffset(measurement);
    if (size > CLOCK_OFFSET_POLICY.errorAboveMs) {
      log.error(fields, `${words}: NTP is broken on this host; check it with \`timedatectl timesync-status\` or \`chronyc tracking\`. Uploads go on with the corrected time.`);
    } else if (size > CLOCK_OFFSET_POLICY.warnAboveMs) {
      log.warn(fields, `${words}; requests are signed with the corrected time, but check NTP (\`timedatectl timesync-status\` or \`chronyc tracking\`)`);
    } else {
      log.info(fields, `clock offset to the endpoint: ${words}`);
    }
    return measurement;
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
