import { ClassifiedError } from '../shared/classified-error.js';

/** What kind of storage failure an error is: decides whether it is retried and what the operator is told. */
export type StorageErrorKind = 'clock-skew' | 'credentials' | 'missing-bucket' | 'transient' | 'other';

/** A storage error as data: the S3 or network code, its kind, and what the operator should check. */
export interface StorageErrorClass {
  code: string;
  kind: StorageErrorKind;
  hint: string;
}

const NTP_CHECK = 'check NTP with `timedatectl timesync-status` or `chronyc tracking`';

/** S3 error codes the operator can act on, with what to check. */
const S3_CODES: Record<string, Omit<StorageErrorClass, 'code'>> = {
  RequestTimeTooSkewed: { kind: 'clock-skew', hint: `this host's clock is too far from the endpoint's; ${NTP_CHECK}` },
  RequestExpired: { kind: 'clock-skew', hint: `the request's time is outside the endpoint's window; ${NTP_CHECK}` },
  InvalidAccessKeyId: { kind: 'credentials', hint: 'the endpoint does not know R2_ACCESS_KEY: check it is the Access Key ID of an API token of this account' },
  SignatureDoesNotMatch: { kind: 'credentials', hint: 'R2_SECRET_KEY does not belong to R2_ACCESS_KEY: check it is the Secret Access Key of the same API token' },
  AccessDenied: {
    kind: 'credentials',
    hint: `the token may not use this bucket: check it has Object Read & Write permission on R2_BUCKET (R2 also answers so when this host's clock is minutes off: ${NTP_CHECK})`,
  },
  Forbidden: { kind: 'credentials', hint: 'the endpoint refused the request: check R2_ACCESS_KEY, R2_SECRET_KEY and the token\'s permissions on R2_BUCKET' },
  NoSuchBucket: { kind: 'missing-bucket', hint: 'R2_BUCKET does not exist at R2_ENDPOINT: check the bucket name and the account ID in the endpoint URL' },
  SlowDown: { kind: 'transient', hint: 'the endpoint asks to slow down; the request is retried' },
  InternalError: { kind: 'transient', hint: 'the endpoint had an internal error; the request is retried' },
  ServiceUnavailable: { kind: 'transient', hint: 'the endpoint is unavailable for now; the request is retried' },
};

/** Node and SDK network failure codes: the endpoint could not be reached or did not answer in time. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The codes {@link classifyS3Error} gives from its tables, for metrics that must exist before the first
 * failure. It can also give other S3 codes, `HTTP<status>` and `Unknown`, which are not known in advance.
 */
export const KNOWN_STORAGE_ERROR_CODES: readonly string[] = [...Object.keys(S3_CODES), ...NETWORK_CODES];

const NETWORK_HINT = 'cannot reach R2_ENDPOINT: check the URL, DNS and this host\'s network; the request is retried';

interface ErrorFields {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  cause?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The network code of an error, looked up through `cause` and AggregateError's `errors` (fetch and Happy Eyeballs wrap it). */
function networkCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 3) return undefined;
  const fields = error as ErrorFields;
  if (typeof fields.code === 'string' && NETWORK_CODES.has(fields.code)) return fields.code;
  if (fields.name === 'TimeoutError' || fields.name === 'AbortError') return 'ETIMEDOUT';
  const nested = [fields.cause, ...(Array.isArray(fields.errors) ? fields.errors : [])];
  for (const inner of nested) {
    const code = networkCode(inner, depth + 1);
    if (code) return code;
  }
  return undefined;
}

/**
 * Classifies an S3 or network error (as thrown by `@aws-sdk/client-s3`, `fetch` or node:http). Pure: the
 * retry decision and the logs both use it, so they never disagree.
 */
export function classifyS3Error(error: unknown): StorageErrorClass {
  const network = networkCode(error);
  if (network) return { code: network, kind: 'transient', hint: NETWORK_HINT };
  const fields = (typeof error === 'object' && error !== null ? error : {}) as ErrorFields;
  const code = typeof fields.Code === 'string' ? fields.Code : typeof fields.name === 'string' && fields.name !== 'Error' ? fields.name : 'Unknown';
  const known = S3_CODES[code];
  if (known) return { code, ...known };
  const status = fields.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) {
    return { code: code === 'Unknown' ? `HTTP${status}` : code, kind: 'transient', hint: `the endpoint answered ${status}; the request is retried` };
  }
  if (status === 403) return { code, ...S3_CODES.Forbidden! };
  return { code, kind: 'other', hint: 'unexpected storage error: see its code' };
}

/** Whether a request that failed so is worth another attempt (the SDK has already corrected its clock offset on a skew error). */
export function isRetryable(classification: StorageErrorClass): boolean {
  return classification.kind === 'transient' || classification.kind === 'clock-skew';
}

/** A storage request that failed for good: one sentence naming the operation, the code and what to check. */
export class StorageError extends ClassifiedError {
  override name = 'StorageError';
  readonly kind: StorageErrorKind;
  readonly hint: string;

  constructor(
    readonly operation: string,
    readonly key: string,
    classification: StorageErrorClass,
  ) {
    super(`${operation} ${key} failed: ${classification.code}: ${classification.hint}`, classification.code);
    this.kind = classification.kind;
    this.hint = classification.hint;
  }
}

/** `error` as a {@link StorageError} of `operation` on `key`, classifying it if it is not one already. */
export function asStorageError(error: unknown, operation: string, key: string): StorageError {
  return error instanceof StorageError ? error : new StorageError(operation, key, classifyS3Error(error));
}
