import { NoSuchBucket, S3ServiceException } from '@aws-sdk/client-s3';
import { freePort } from '../testing/free-port.js';
import { describe, expect, it } from 'vitest';
import { asStorageError, classifyS3Error, isRetryable, StorageError } from './s3-errors.js';

/** An S3 error as the SDK throws it for an error response with this code and status. */
function s3Error(name: string, httpStatusCode: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode }, message: `${name} from the endpoint` });
}

describe(classifyS3Error.name, () => {
  it('calls RequestTimeTooSkewed clock skew, and names the NTP check', () => {
    const c = classifyS3Error(s3Error('RequestTimeTooSkewed', 403));
    expect(c).toMatchObject({ code: 'RequestTimeTooSkewed', kind: 'clock-skew' });
    expect(c.hint).toContain('timedatectl timesync-status');
    expect(c.hint).toContain('chronyc tracking');
  });

  it('calls InvalidAccessKeyId a credentials problem with R2_ACCESS_KEY', () => {
    const c = classifyS3Error(s3Error('InvalidAccessKeyId', 403));
    expect(c).toMatchObject({ code: 'InvalidAccessKeyId', kind: 'credentials' });
    expect(c.hint).toContain('R2_ACCESS_KEY');
  });

  it('calls SignatureDoesNotMatch a credentials problem with R2_SECRET_KEY', () => {
    const c = classifyS3Error(s3Error('SignatureDoesNotMatch', 403));
    expect(c).toMatchObject({ code: 'SignatureDoesNotMatch', kind: 'credentials' });
    expect(c.hint).toContain('R2_SECRET_KEY');
  });

  it('calls AccessDenied a permissions problem, and mentions the clock (R2 answers skew so)', () => {
    const c = classifyS3Error(s3Error('AccessDenied', 403));
    expect(c).toMatchObject({ code: 'AccessDenied', kind: 'credentials' });
    expect(c.hint).toContain('Object Read & Write');
    expect(c.hint).toContain('clock');
  });

  it('calls a bare 403 (a HEAD has no error body) a credentials problem', () => {
    expect(classifyS3Error(s3Error('403', 403))).toMatchObject({ kind: 'credentials' });
  });

  it('calls NoSuchBucket a missing bucket, naming R2_BUCKET', () => {
    const error = new NoSuchBucket({ $metadata: { httpStatusCode: 404 }, message: 'The specified bucket does not exist' });
    const c = classifyS3Error(error);
    expect(c).toMatchObject({ code: 'NoSuchBucket', kind: 'missing-bucket' });
    expect(c.hint).toContain('R2_BUCKET');
  });

  it('calls a refused connection transient (a real one, from a closed loopback port)', async () => {
    const port = await freePort(); // closed again: a connection to it is refused
    const error = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    const c = classifyS3Error(error);
    expect(c).toMatchObject({ code: 'ECONNREFUSED', kind: 'transient' });
    expect(c.hint).toContain('R2_ENDPOINT');
  });

  it('calls the SDK\'s request timeout transient', () => {
    const timeout = Object.assign(new Error('a request has exceeded the configured 30000 ms requestTimeout'), { name: 'TimeoutError', code: 'ETIMEDOUT' });
    expect(classifyS3Error(timeout)).toMatchObject({ code: 'ETIMEDOUT', kind: 'transient' });
    const connect = Object.assign(new Error('the request socket did not establish a connection'), { name: 'TimeoutError' });
    expect(classifyS3Error(connect)).toMatchObject({ code: 'ETIMEDOUT', kind: 'transient' });
  });

  it('calls 5xx and 429 answers transient, known code or not', () => {
    expect(classifyS3Error(s3Error('InternalError', 500))).toMatchObject({ code: 'InternalError', kind: 'transient' });
    expect(classifyS3Error(s3Error('ServiceUnavailable', 503))).toMatchObject({ kind: 'transient' });
    expect(classifyS3Error(s3Error('Unknown', 502))).toMatchObject({ code: 'HTTP502', kind: 'transient' });
    expect(classifyS3Error(s3Error('TooManyRequests', 429))).toMatchObject({ kind: 'transient' });
  });

  it('calls anything else other', () => {
    expect(classifyS3Error(s3Error('InvalidArgument', 400))).toMatchObject({ code: 'InvalidArgument', kind: 'other' });
    expect(classifyS3Error(new Error('boom'))).toMatchObject({ code: 'Unknown', kind: 'other' });
    expect(classifyS3Error('not an error')).toMatchObject({ kind: 'other' });
  });
});

describe(isRetryable.name, () => {
  it('retries transient failures and clock skew, not credentials, a missing bucket or the rest', () => {
    const kinds = ['transient', 'clock-skew', 'credentials', 'missing-bucket', 'other'] as const;
    expect(kinds.map((kind) => isRetryable({ code: 'X', kind, hint: '' }))).toEqual([true, true, false, false, false]);
  });
});

describe(asStorageError.name, () => {
  it('says the operation, the key, the code and what to check in one sentence', () => {
    const error = asStorageError(s3Error('NoSuchBucket', 404), 'PUT', 'hq/0000000007.flac');
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toMatch(/^PUT hq\/0000000007\.flac failed: NoSuchBucket: R2_BUCKET does not exist/);
    expect(error.message).not.toContain('\n');
    expect(asStorageError(error, 'GET', 'other')).toBe(error);
  });
});
