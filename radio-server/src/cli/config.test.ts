import { describe, expect, it } from 'vitest';
import { loggableConfig, parseConfig, readConfig } from './config.js';
import { UserError } from '../shared/user-error.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+secret';
/** The secret as it stands in a URL's userinfo. */
const URL_SECRET = encodeURIComponent(SECRET);

const env = {
  R2_ENDPOINT: 'https://0123456789abcdef.r2.cloudflarestorage.com/',
  R2_BUCKET: 'kxyz-radio',
  R2_ACCESS_KEY: '7f1c2d3e4b5a69788796a5b4c3d2e1f0',
  R2_SECRET_KEY: SECRET,
  PATH: '/usr/bin',
};

function problemsOf(source: Record<string, string | undefined>): string[] {
  const result = parseConfig(source);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

describe(parseConfig.name, () => {
  it('reads the storage target, with defaults for the optional variables', () => {
    const result = parseConfig(env);
    expect(result).toEqual({
      ok: true,
      config: {
        storage: {
          endpoint: 'https://0123456789abcdef.r2.cloudflarestorage.com',
          bucket: 'kxyz-radio',
          prefix: '',
          credentials: { accessKeyId: env.R2_ACCESS_KEY, secretAccessKey: SECRET },
        },
        station: 'Community Radio',
        publicUrl: undefined,
        metricsPort: 9464,
        recordingsDir: './recordings',
        stagingDir: './recordings/.staging',
      },
    });
  });

  it('takes METRICS_PORT, RECORDINGS_DIR and STAGING_DIR, and refuses a staging directory that is the recordings one', () => {
    const result = parseConfig({ ...env, METRICS_PORT: '0', RECORDINGS_DIR: '/var/lib/radio/recordings', STAGING_DIR: '/run/radio' });
    expect(result.ok && result.config).toMatchObject({ metricsPort: 0, recordingsDir: '/var/lib/radio/recordings', stagingDir: '/run/radio' });
    expect(problemsOf({ ...env, METRICS_PORT: '70000' })).toEqual(['METRICS_PORT must be a port number (1 to 65535), or 0 to turn /metrics and /healthz off']);
    expect(problemsOf({ ...env, RECORDINGS_DIR: '/srv/rec', STAGING_DIR: '/srv/rec/' })).toEqual([
      'STAGING_DIR must not be RECORDINGS_DIR: the recording in progress needs a directory of its own (e.g. RECORDINGS_DIR/.staging)',
    ]);
  });

  it('lets overrides (flags) win over the environment, and takes an empty value as unset', () => {
    const result = parseConfig({ ...env, STATION_NAME: '', R2_PREFIX: 'live' }, { STATION_NAME: 'KXYZ', R2_PUBLIC_URL: 'https://radio.example.org/' });
    expect(result.ok && result.config).toMatchObject({ station: 'KXYZ', publicUrl: 'https://radio.example.org', storage: { prefix: 'live' } });
  });

  it('reports every problem at once, one line each, naming the variable', () => {
    const problems = problemsOf({ R2_ENDPOINT: 'r2.example.com', R2_BUCKET: 'Bad_Bucket', R2_PREFIX: 'a b', R2_PUBLIC_URL: 'ftp://x' });
    expect(problems).toEqual([
      'R2_ENDPOINT must be an http:// or https:// URL, e.g. https://<account-id>.r2.cloudflarestorage.com',
      'R2_BUCKET must be a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens',
      'R2_ACCESS_KEY is not set: the Access Key ID of an R2 API token with Object Read & Write',
      'R2_SECRET_KEY is not set: the Secret Access Key of the same API token',
      'R2_PREFIX may hold only letters, digits, ".", "_", "-" and "/"',
      'R2_PUBLIC_URL must be an http:// or https:// URL (the bucket\'s public URL)',
    ]);
    for (const line of problems) expect(line).not.toContain('\n');
  });

  it('refuses an endpoint that carries the bucket as a path', () => {
    expect(problemsOf({ ...env, R2_ENDPOINT: 'https://acc.r2.cloudflarestorage.com/kxyz-radio' })).toEqual([
      'R2_ENDPOINT must be the endpoint alone, without a path: put the bucket name in R2_BUCKET',
    ]);
  });

  it('refuses an endpoint with credentials in it, without repeating them', () => {
    const problems = problemsOf({ ...env, R2_ENDPOINT: `http://user:${URL_SECRET}@acc.r2.cloudflarestorage.com` });
    expect(problems).toEqual([
      'R2_ENDPOINT must not carry a user name or password: put the keys in R2_ACCESS_KEY and R2_SECRET_KEY, and the endpoint alone in R2_ENDPOINT',
    ]);
    expect(problems.join('\n')).not.toContain(URL_SECRET);
    expect(problemsOf({ ...env, R2_ENDPOINT: 'http://user:secret@127.0.0.1:9000' })).toEqual(problems);
    expect(problemsOf({ ...env, R2_ENDPOINT: 'https://user@acc.r2.cloudflarestorage.com' })).toEqual(problems);
  });

  it('takes R2_PUBLIC_URL as an origin and at most a path', () => {
    const publicUrl = (value: string) => { const result = parseConfig({ ...env, R2_PUBLIC_URL: value }); return result.ok && result.config.publicUrl; };
    expect(publicUrl('https://pub-1234.r2.dev')).toBe('https://pub-1234.r2.dev');
    expect(publicUrl('https://Radio.Example.org:8443/live/')).toBe('https://radio.example.org:8443/live');
    expect(publicUrl('http://127.0.0.1:4568/radio')).toBe('http://127.0.0.1:4568/radio');
  });

  it.each([
    ['https://pub-1234.r2.dev;script-src *', 'R2_PUBLIC_URL must not contain spaces, quotes, ";" or ",": give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    ['https://pub-1234.r2.dev;report-uri', 'R2_PUBLIC_URL must not contain spaces, quotes, ";" or ",": give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    ['https://a.r2.dev,https://b.r2.dev', 'R2_PUBLIC_URL must not contain spaces, quotes, ";" or ",": give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    ['https://pub-1234.r2.dev/\'unsafe-inline\'', 'R2_PUBLIC_URL must not contain spaces, quotes, ";" or ",": give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    ['https://pub-1234.r2.dev/"x', 'R2_PUBLIC_URL must not contain spaces, quotes, ";" or ",": give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    ['https://pub-1234.r2.dev\t', 'R2_PUBLIC_URL must not contain spaces, quotes, ";" or ",": give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    [`https://user:${URL_SECRET}@pub-1234.r2.dev`, 'R2_PUBLIC_URL must not carry a user name or password (the bucket is read without them): give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    ['https://pub-1234.r2.dev/?v=1', 'R2_PUBLIC_URL must not have a query (?...): give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    ['https://pub-1234.r2.dev?', 'R2_PUBLIC_URL must not have a query (?...): give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    ['https://pub-1234.r2.dev/#top', 'R2_PUBLIC_URL must not have a fragment (#...): give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev'],
    ['javascript:alert(1)', 'R2_PUBLIC_URL must be an http:// or https:// URL (the bucket\'s public URL)'],
  ])('refuses R2_PUBLIC_URL %j in one sentence that does not repeat it', (value, message) => {
    const problems = problemsOf({ ...env, R2_PUBLIC_URL: value });
    expect(problems).toEqual([message]);
    expect(problems[0]).not.toContain(value);
    expect(problems[0]).not.toContain(URL_SECRET);
  });

  it('never repeats the secret key, even when it is what is wrong', () => {
    const pasted = ` ${SECRET}\n`;
    const problems = problemsOf({ ...env, R2_SECRET_KEY: pasted });
    expect(problems).toEqual(['R2_SECRET_KEY contains spaces or line breaks: copy it again without them']);
    expect(problems.join('\n')).not.toContain(SECRET);
  });
});

describe(readConfig.name, () => {
  it('throws a UserError (exit 2) listing every problem, without the secret', () => {
    let error: unknown;
    try {
      readConfig({ R2_SECRET_KEY: `${SECRET} ` });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    const { message, exitCode } = error as UserError;
    expect(exitCode).toBe(2);
    expect(message.split('\n')).toEqual([
      'the configuration has 4 problems (set these in the environment or in .env):',
      '  - R2_ENDPOINT is not set: the S3 API endpoint, e.g. https://<account-id>.r2.cloudflarestorage.com',
      '  - R2_BUCKET is not set: the name of the bucket the station publishes to',
      '  - R2_ACCESS_KEY is not set: the Access Key ID of an R2 API token with Object Read & Write',
      '  - R2_SECRET_KEY contains spaces or line breaks: copy it again without them',
    ]);
    expect(message).not.toContain(SECRET);
  });
});

describe(loggableConfig.name, () => {
  it('shows where the station publishes, but not the secret key', () => {
    const view = loggableConfig(readConfig(env));
    expect(view).toMatchObject({ endpoint: 'https://0123456789abcdef.r2.cloudflarestorage.com', bucket: 'kxyz-radio', secretKey: '(set)', accessKey: '7f1c…e1f0' });
    expect(JSON.stringify(view)).not.toContain(SECRET);
  });

  it('never shows credentials in a URL, even in a config that did not come through parseConfig', () => {
    const config = readConfig(env);
    const view = loggableConfig({ ...config, storage: { ...config.storage, endpoint: `https://user:${URL_SECRET}@acc.r2.cloudflarestorage.com` }, publicUrl: `https://u:${URL_SECRET}@pub.r2.dev/live` });
    expect(view).toMatchObject({ endpoint: 'https://acc.r2.cloudflarestorage.com', publicUrl: 'https://pub.r2.dev/live' });
    expect(JSON.stringify(view)).not.toContain(URL_SECRET);
    expect(JSON.stringify(view)).not.toContain('user');
  });
});
