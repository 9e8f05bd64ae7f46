import { afterEach, describe, expect, it } from 'vitest';
import { S3Store, type S3Target } from '../publish/s3-store.js';
import { memoryLogger } from '../publish/testing/memory-log.js';
import { startS3TestServer, type S3TestServer } from '../publish/testing/s3-test-server.js';
import { runCheck } from './check-command.js';
import { parseConfig } from './config.js';

const cors = (exposeEtag: boolean) =>
  `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>${exposeEtag ? '<ExposeHeader>ETag</ExposeHeader>' : ''}</CORSRule></CORSConfiguration>`;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function station(bucketConfigs: string[] = [cors(true)], withManifest = true): Promise<S3TestServer> {
  const server = await startS3TestServer({ bucketConfigs });
  cleanups.push(() => server.stop());
  if (withManifest) {
    const store = new S3Store({ target: server.target, log: memoryLogger().log });
    await store.put('manifest.json', Buffer.from('{}\n'), { contentType: 'application/json', cacheControl: 'no-cache' });
    store.destroy();
  }
  return server;
}

function envFor(target: S3Target, publicUrl?: string): Record<string, string> {
  return {
    R2_ENDPOINT: target.endpoint,
    R2_BUCKET: target.bucket,
    R2_ACCESS_KEY: target.credentials.accessKeyId,
    R2_SECRET_KEY: target.credentials.secretAccessKey,
    ...(publicUrl ? { R2_PUBLIC_URL: publicUrl } : {}),
  };
}

/** Runs the check as `radio-server check` does; returns the exit code, its lines, and its log. */
async function check(env: Record<string, string>) {
  let text = '';
  const { log, text: logText } = memoryLogger();
  const code = await runCheck(parseConfig(env), log, { write: (chunk: string) => (text += chunk) });
  return { code, lines: text.trimEnd().split('\n'), everything: text + logText() };
}

const publicUrlOf = (s: S3TestServer) => `${s.target.endpoint}/${s.target.bucket}`;

describe(runCheck.name, () => {
  it('passes every check against a bucket set up as the docs say, and leaves no probe behind', async () => {
    const s = await station();
    const { code, lines, everything } = await check(envFor(s.target, publicUrlOf(s)));
    expect(lines.map((l) => l.split(':')[0])).toEqual(['OK   config', 'OK   clock', 'OK   write', 'OK   read', 'OK   delete', 'OK   public', 'OK   cors', 'OK   cors-etag']);
    expect(code).toBe(0);
    expect(lines[1]).toMatch(/^OK   clock: this host's clock is \d\.\d s (behind|ahead of) the endpoint's/);
    expect(everything).not.toContain(s.target.credentials.secretAccessKey);
    const listing = await (await fetch(`${publicUrlOf(s)}?list-type=2`)).text();
    expect([...listing.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1])).toEqual(['manifest.json']);
  });

  it('fails CORS without a rule, and the ETag check without ExposeHeaders ETag, saying what to add', async () => {
    const none = await station([]);
    const withoutCors = await check(envFor(none.target, publicUrlOf(none)));
    expect(withoutCors.code).toBe(1);
    expect(withoutCors.lines.slice(-2)).toEqual([
      'FAIL cors: no Access-Control-Allow-Origin for Origin https://listener.example: browsers will refuse the manifest; add a CORS rule to the bucket: AllowedOrigins your player\'s origin (or *), AllowedMethods GET and HEAD, ExposeHeaders ETag',
      'FAIL cors-etag: ETag is not in Access-Control-Expose-Headers: the player cannot revalidate the manifest with If-None-Match; add a CORS rule to the bucket: AllowedOrigins your player\'s origin (or *), AllowedMethods GET and HEAD, ExposeHeaders ETag',
    ]);
    const noEtag = await station([cors(false)]);
    const withoutEtag = await check(envFor(noEtag.target, publicUrlOf(noEtag)));
    expect(withoutEtag.lines.slice(-2).map((l) => l.slice(0, 14))).toEqual(['OK   cors: Acc', 'FAIL cors-etag']);
    expect(withoutEtag.code).toBe(1);
  });

  it('says when the public URL has no manifest yet', async () => {
    const s = await station([cors(true)], false);
    const { code, lines } = await check(envFor(s.target, publicUrlOf(s)));
    expect(code).toBe(1);
    expect(lines).toContain(`FAIL public: GET ${publicUrlOf(s)}/manifest.json answered 404: no manifest there yet; run the daemon first, or check R2_PUBLIC_URL (the bucket's public URL) and R2_PREFIX`);
  });

  it('fails the write with a wrong secret key, names R2_SECRET_KEY, skips read and delete, never prints the secret', async () => {
    const s = await station();
    const wrong = 'Wr0ngSecretValueThatMustNotLeak0123456789';
    const { code, lines, everything } = await check({ ...envFor(s.target), R2_SECRET_KEY: wrong });
    expect(code).toBe(1);
    expect(lines.slice(2, 3)).toEqual([expect.stringMatching(/^FAIL write: PUT radio-server-check-[0-9a-f]{12}\.txt failed: SignatureDoesNotMatch: R2_SECRET_KEY does not belong to R2_ACCESS_KEY/)]);
    expect(lines.slice(3)).toEqual(['SKIP public: R2_PUBLIC_URL is not set, so what listeners get is not checked']);
    expect(everything).not.toContain(wrong);
  });

  it('reports every config problem on its own line and stops there', async () => {
    const { code, lines } = await check({ R2_ENDPOINT: 'not a url', R2_SECRET_KEY: 'x y' });
    expect(code).toBe(1);
    expect(lines).toEqual([
      'FAIL config: R2_ENDPOINT must be an http:// or https:// URL, e.g. https://<account-id>.r2.cloudflarestorage.com (set it in the environment or in .env)',
      'FAIL config: R2_BUCKET is not set: the name of the bucket the station publishes to (set it in the environment or in .env)',
      'FAIL config: R2_ACCESS_KEY is not set: the Access Key ID of an R2 API token with Object Read & Write (set it in the environment or in .env)',
      'FAIL config: R2_SECRET_KEY contains spaces or line breaks: copy it again without them (set it in the environment or in .env)',
    ]);
  });

  it('says when the endpoint cannot be reached', async () => {
    const gone = await startS3TestServer();
    await gone.stop();
    const { code, lines } = await check(envFor(gone.target));
    expect(code).toBe(1);
    expect(lines[1]).toMatch(/^FAIL clock: cannot reach the endpoint: HEAD bucket radio-test failed: ECONNREFUSED: cannot reach R2_ENDPOINT/);
    expect(lines).toHaveLength(3);
  });
});
