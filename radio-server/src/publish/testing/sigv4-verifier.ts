import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** A request as received: method, raw path with query, headers (names lowercase, repeated values as a list), body. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Readonly<Record<string, string[] | undefined>>;
  body: Buffer;
}

/** The verdict: unsigned (left to the server), valid, or refused with an S3 error code. */
export type SigV4Verdict = { signed: false } | { signed: true; accessKeyId: string; ok: true } | { signed: true; accessKeyId: string; ok: false; code: string; message: string };

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalQuery(query: string): string {
  const pairs = query
    .split('&')
    .filter(Boolean)
    .map((part) => {
      const [key = '', value = ''] = part.split(/=(.*)/s).map((s) => decodeURIComponent(s.replace(/\+/g, ' ')));
      return [rfc3986(key), rfc3986(value)] as const;
    });
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * Verifies an AWS Signature Version 4 `Authorization` header the way S3 does (path used as sent, as S3
 * does not double-encode it), including the payload hash when one is declared. s3rver checks the access
 * key and the clock but not the signature itself: this adds that, so a wrong secret is refused.
 */
export function verifySigV4(request: ReceivedRequest, secrets: ReadonlyMap<string, string>): SigV4Verdict {
  const header = (name: string) => request.headers[name]?.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
  const authorization = header('authorization');
  if (authorization === undefined) return { signed: false };
  const match = AUTHORIZATION.exec(authorization);
  const accessKeyId = match?.[1] ?? '';
  const refuse = (code: string, message: string): SigV4Verdict => ({ signed: true, accessKeyId, ok: false, code, message });
  if (!match) return refuse('AuthorizationHeaderMalformed', 'The authorization header is malformed.');
  const [, , day, region, service, signedHeaders, signature] = match as unknown as string[];
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) return refuse('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  const amzDate = header('x-amz-date');
  const payloadHash = header('x-amz-content-sha256');
  if (!amzDate || !payloadHash) return refuse('AccessDenied', 'x-amz-date and x-amz-content-sha256 are required.');
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256Hex(request.body)) {
    return refuse('XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
  }
  const [path = '/', query = ''] = request.url.split(/\?(.*)/s);
  const names = signedHeaders!.split(';');
  const canonicalRequest = [request.method, path, canonicalQuery(query), ...names.map((n) => `${n}:${header(n) ?? ''}`), '', signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, day!), region!), service!), 'aws4_request');
  const expected = Buffer.from(hmac(signingKey, stringToSign).toString('hex'));
  if (!timingSafeEqual(expected, Buffer.from(signature!))) {
    return refuse('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  return { signed: true, accessKeyId, ok: true };
}
