import { randomBytes } from 'node:crypto';
import { MANIFEST_KEY, prefixedKey } from '@radio/protocol';
import type { Logger } from '../ops/logger.js';
import { CLOCK_OFFSET_POLICY, describeClockOffset, measureClockOffset } from '../publish/clock-offset.js';
import { CHECK_REQUEST_POLICY } from '../publish/request-policy.js';
import { asStorageError, classifyS3Error } from '../publish/s3-errors.js';
import { S3Store } from '../publish/s3-store.js';
import { loggableConfig, type ConfigResult, type DaemonConfig } from './config.js';

export interface CheckOptions {
  /** Origin sent to the public URL, as a listener's page would send it. */
  origin?: string;
}

/** Where the result lines go (stdout for the command). */
export interface CheckOutput {
  write(text: string): unknown;
}

const DEFAULT_ORIGIN = 'https://listener.example';
const NTP_FIX = 'fix NTP on this host: check it with `timedatectl timesync-status` or `chronyc tracking`';
const CORS_FIX = 'add a CORS rule to the bucket: AllowedOrigins your player\'s origin (or *), AllowedMethods GET and HEAD, ExposeHeaders ETag';

/**
 * `radio-server check`: the operator's preflight. Checks the config (the result of `parseConfig`), the
 * clock offset to the endpoint, writing, reading back and deleting a probe object, and (with
 * R2_PUBLIC_URL) that the public URL serves the manifest with CORS exposing ETag. Writes one OK/FAIL line
 * per check with the fix; `log` gets the store's own lines (retries, errors). Resolves with the exit
 * code: 0 when every check passed, 1 otherwise.
 */
export async function runCheck(parsed: ConfigResult, log: Logger, out: CheckOutput, options: CheckOptions = {}): Promise<0 | 1> {
  let failed = false;
  const line = (text: string) => out.write(`${text}\n`);
  const ok = (name: string, detail: string) => line(`OK   ${name}: ${detail}`);
  const fail = (name: string, detail: string) => {
    failed = true;
    line(`FAIL ${name}: ${detail}`);
  };

  if (!parsed.ok) {
    for (const problem of parsed.problems) fail('config', `${problem} (set it in the environment or in .env)`);
    return 1;
  }
  const { config } = parsed;
  const view = loggableConfig(config);
  ok('config', `endpoint ${view.endpoint}, bucket ${view.bucket}, prefix ${view.prefix}, access key ${view.accessKey}`);

  await checkStorage(config, log, ok, fail);
  if (config.publicUrl) await checkPublicUrl(config, options.origin ?? DEFAULT_ORIGIN, ok, fail);
  else line('SKIP public: R2_PUBLIC_URL is not set, so what listeners get is not checked');
  return failed ? 1 : 0;
}

type Report = (name: string, detail: string) => void;

async function checkStorage(config: DaemonConfig, log: Logger, ok: Report, fail: Report): Promise<void> {
  const store = new S3Store({ target: config.storage, log, policy: CHECK_REQUEST_POLICY });
  try {
    let offsetMs: number;
    try {
      const measurement = await measureClockOffset(config.storage);
      offsetMs = measurement.offsetMs;
      const words = describeClockOffset(measurement);
      if (Math.abs(offsetMs) > CLOCK_OFFSET_POLICY.errorAboveMs) fail('clock', `${words}: NTP is broken; the daemon corrects for it, but ${NTP_FIX}`);
      else if (Math.abs(offsetMs) > CLOCK_OFFSET_POLICY.warnAboveMs) ok('clock', `${words}; the daemon corrects for it, but ${NTP_FIX}`);
      else ok('clock', words);
    } catch (error) {
      fail('clock', `cannot reach the endpoint: ${asStorageError(error, 'HEAD', `bucket ${config.storage.bucket}`).message}`);
      return;
    }
    // As the daemon does: sign with the endpoint's time, so the probe tests the credentials, not the clock.
    store.clockOffsetMs = offsetMs;

    const key = `radio-server-check-${randomBytes(6).toString('hex')}.txt`;
    const shown = prefixedKey(config.storage.prefix, key);
    const body = Buffer.from(`radio-server check probe, ${new Date().toISOString()}\n`);
    const step = async (name: string, action: () => Promise<string>): Promise<boolean> => {
      try {
        ok(name, await action());
        return true;
      } catch (error) {
        // The store's errors are StorageErrors already: one sentence with the code and what to check.
        fail(name, error instanceof Error ? error.message : String(error));
        return false;
      }
    };
    const written = await step('write', async () => {
      await store.put(key, body, { contentType: 'text/plain; charset=utf-8', cacheControl: 'no-store' });
      return `PUT ${shown}`;
    });
    if (!written) return;
    await step('read', async () => {
      const read = await store.get(key);
      if (!read || !Buffer.from(read).equals(body)) throw new Error(`GET ${shown} did not return what was written: check that R2_ENDPOINT is the bucket's S3 API`);
      return `GET ${shown} returned the ${body.length} bytes written`;
    });
    await step('delete', async () => {
      await store.delete(key);
      if ((await store.get(key)) !== undefined) throw new Error(`${shown} is still there after DELETE: check that the token may delete objects (Object Read & Write)`);
      return `DELETE ${shown}; it is gone`;
    });
  } finally {
    store.destroy();
  }
}

async function checkPublicUrl(config: DaemonConfig, origin: string, ok: Report, fail: Report): Promise<void> {
  const url = `${config.publicUrl}/${prefixedKey(config.storage.prefix, MANIFEST_KEY)}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { origin }, signal: AbortSignal.timeout(CHECK_REQUEST_POLICY.attemptTimeoutMs) });
    await response.arrayBuffer();
  } catch (error) {
    fail('public', `cannot fetch ${url}: ${classifyS3Error(error).code}: check R2_PUBLIC_URL and that public access is on for the bucket`);
    return;
  }
  if (response.status === 200) ok('public', `GET ${url} answered 200`);
  else if (response.status === 404) fail('public', `GET ${url} answered 404: no manifest there yet; run the daemon first, or check R2_PUBLIC_URL (the bucket's public URL) and R2_PREFIX`);
  else fail('public', `GET ${url} answered ${response.status}: check that public access (r2.dev or a custom domain) is on for the bucket`);

  const allowOrigin = response.headers.get('access-control-allow-origin');
  if (allowOrigin === '*' || allowOrigin === origin) ok('cors', `Access-Control-Allow-Origin: ${allowOrigin} for Origin ${origin}`);
  else fail('cors', `no Access-Control-Allow-Origin for Origin ${origin}: browsers will refuse the manifest; ${CORS_FIX}`);

  const exposed = (response.headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
  if (exposed.includes('etag')) ok('cors-etag', 'Access-Control-Expose-Headers includes ETag');
  else fail('cors-etag', `ETag is not in Access-Control-Expose-Headers: the player cannot revalidate the manifest with If-None-Match; ${CORS_FIX}`);
}
