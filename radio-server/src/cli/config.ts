import { resolve } from 'node:path';
import * as z from 'zod/mini';
import type { S3Target } from '../publish/s3-store.js';
import { UserError } from '../shared/user-error.js';

/** The environment variables the daemon reads (names from the operator docs). */
export const CONFIG_VARIABLES = ['R2_ENDPOINT', 'R2_BUCKET', 'R2_ACCESS_KEY', 'R2_SECRET_KEY', 'R2_PREFIX', 'STATION_NAME', 'R2_PUBLIC_URL', 'METRICS_PORT', 'RECORDINGS_DIR', 'STAGING_DIR'] as const;
export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];

/** An environment (`process.env`) or the values given by flags, by variable name. */
export type ConfigSource = Readonly<Partial<Record<string, string | undefined>>>;

/** The daemon's checked configuration. */
export interface DaemonConfig {
  storage: S3Target;
  station: string;
  /** Public URL of the bucket (`R2_PUBLIC_URL`, no trailing slash), used by `check`. */
  publicUrl: string | undefined;
  /** Loopback port of /metrics and /healthz (`METRICS_PORT`, default 9464; 0 turns them off). */
  metricsPort: number;
  /** Where finished hourly recordings go (`RECORDINGS_DIR`, default ./recordings). */
  recordingsDir: string;
  /** Where the recording in progress is written (`STAGING_DIR`, default ./recordings/.staging). */
  stagingDir: string;
}

/** Result of {@link parseConfig}: the config, or one line per problem. */
export type ConfigResult = { ok: true; config: DaemonConfig } | { ok: false; problems: string[] };

const DEFAULT_STATION = 'Community Radio';

const required = (name: ConfigVariable, what: string) => z.string({ error: `${name} is not set: ${what}` });

// Messages name the variable and never repeat a value: the secret must not reach a log or a terminal.
const noSpaces = (name: ConfigVariable) => z.refine<string>((v) => !/\s/.test(v), `${name} contains spaces or line breaks: copy it again without them`);

function httpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

const withoutTrailingSlash = z.transform((v: string) => v.replace(/\/+$/, ''));

const hasCredentials = (url: URL) => url.username !== '' || url.password !== '';

/** Characters that end a CSP source or an entry of a URL list, or leave a quoted attribute. */
const UNSAFE_IN_PUBLIC_URL = /[\s;,'"`]/;

/**
 * Why `value` is not a public bucket URL (http(s), an origin and at most a path), in one sentence that
 * never repeats it; undefined when it is one. The client copies its origin into a CSP header.
 */
function publicUrlProblem(value: string): string | undefined {
  const example = 'give the bucket\'s public URL alone, e.g. https://pub-1234.r2.dev';
  if (UNSAFE_IN_PUBLIC_URL.test(value)) return `R2_PUBLIC_URL must not contain spaces, quotes, ";" or ",": ${example}`;
  const url = httpUrl(value);
  if (!url) return 'R2_PUBLIC_URL must be an http:// or https:// URL (the bucket\'s public URL)';
  if (hasCredentials(url)) return `R2_PUBLIC_URL must not carry a user name or password (the bucket is read without them): ${example}`;
  if (value.includes('?')) return `R2_PUBLIC_URL must not have a query (?...): ${example}`;
  if (value.includes('#')) return `R2_PUBLIC_URL must not have a fragment (#...): ${example}`;
  return undefined;
}

/** `url` as origin and path, without credentials, query, fragment or a trailing slash. */
const originAndPath = (url: URL) => `${url.origin}${url.pathname}`.replace(/\/+$/, '');

const schema = z.object({
  R2_ENDPOINT: z.pipe(required('R2_ENDPOINT', 'the S3 API endpoint, e.g. https://<account-id>.r2.cloudflarestorage.com'), withoutTrailingSlash).check(
    z.refine((v) => httpUrl(v) !== undefined, 'R2_ENDPOINT must be an http:// or https:// URL, e.g. https://<account-id>.r2.cloudflarestorage.com'),
    z.refine(
      (v) => { const url = httpUrl(v); return !url || !hasCredentials(url); },
      'R2_ENDPOINT must not carry a user name or password: put the keys in R2_ACCESS_KEY and R2_SECRET_KEY, and the endpoint alone in R2_ENDPOINT',
    ),
    z.refine((v) => { const url = httpUrl(v); return !url || (url.pathname === '/' && !url.search); }, 'R2_ENDPOINT must be the endpoint alone, without a path: put the bucket name in R2_BUCKET'),
  ),
  R2_BUCKET: required('R2_BUCKET', 'the name of the bucket the station publishes to').check(
    z.refine((v) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v), 'R2_BUCKET must be a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens'),
  ),
  R2_ACCESS_KEY: required('R2_ACCESS_KEY', 'the Access Key ID of an R2 API token with Object Read & Write').check(noSpaces('R2_ACCESS_KEY')),
  R2_SECRET_KEY: required('R2_SECRET_KEY', 'the Secret Access Key of the same API token').check(noSpaces('R2_SECRET_KEY')),
  R2_PREFIX: z._default(z.string(), '').check(
    z.refine((v) => /^[A-Za-z0-9._/-]*$/.test(v), 'R2_PREFIX may hold only letters, digits, ".", "_", "-" and "/"'),
  ),
  STATION_NAME: z._default(z.string(), DEFAULT_STATION).check(z.maxLength(200, 'STATION_NAME must be at most 200 characters')),
  METRICS_PORT: z._default(z.string(), '9464').check(
    z.refine((v) => /^\d{1,5}$/.test(v) && Number(v) <= 65535, 'METRICS_PORT must be a port number (1 to 65535), or 0 to turn /metrics and /healthz off'),
  ),
  RECORDINGS_DIR: z._default(z.string(), './recordings'),
  STAGING_DIR: z.optional(z.string()),
  R2_PUBLIC_URL: z.optional(
    z.pipe(
      z.string().check(z.superRefine((v, ctx) => { const problem = publicUrlProblem(v); if (problem) ctx.addIssue(problem); })),
      z.transform((v: string) => originAndPath(new URL(v))),
    ),
  ),
});

/**
 * Checks the daemon's configuration: `env` (process.env, after `.env` is loaded) with `overrides` (from
 * flags) on top. Empty values count as unset. Returns every problem, one line each.
 */
export function parseConfig(env: ConfigSource, overrides: ConfigSource = {}): ConfigResult {
  const values: Partial<Record<ConfigVariable, string>> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = overrides[name] ?? env[name];
    if (value !== undefined && value !== '') values[name] = value;
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((issue) => issue.message) };
  const v = parsed.data;
  if (v.STAGING_DIR !== undefined && resolve(v.STAGING_DIR) === resolve(v.RECORDINGS_DIR)) {
    return { ok: false, problems: ['STAGING_DIR must not be RECORDINGS_DIR: the recording in progress needs a directory of its own (e.g. RECORDINGS_DIR/.staging)'] };
  }
  return {
    ok: true,
    config: {
      storage: { endpoint: v.R2_ENDPOINT, bucket: v.R2_BUCKET, prefix: v.R2_PREFIX, credentials: { accessKeyId: v.R2_ACCESS_KEY, secretAccessKey: v.R2_SECRET_KEY } },
      station: v.STATION_NAME,
      publicUrl: v.R2_PUBLIC_URL,
      metricsPort: Number(v.METRICS_PORT),
      recordingsDir: v.RECORDINGS_DIR,
      stagingDir: v.STAGING_DIR ?? `${v.RECORDINGS_DIR}/.staging`,
    },
  };
}

/** {@link parseConfig}, throwing a UserError (exit 2) that lists every problem, one per line. */
export function readConfig(env: ConfigSource, overrides: ConfigSource = {}): DaemonConfig {
  const result = parseConfig(env, overrides);
  if (!result.ok) {
    const count = result.problems.length === 1 ? 'a problem' : `${result.problems.length} problems`;
    throw new UserError(`the configuration has ${count} (set these in the environment or in .env):\n${result.problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return result.config;
}

/** A URL as it may be logged: origin and path only, so credentials in it (refused by parseConfig) never reach a log. */
function loggableUrl(value: string): string {
  const url = httpUrl(value);
  return url ? originAndPath(url) : '(not an http(s) URL)';
}

/** The config as it may be logged or printed: the secret key reduced to whether it is set, URLs without credentials. */
export function loggableConfig(config: DaemonConfig): Record<string, string> {
  const { accessKeyId } = config.storage.credentials;
  return {
    endpoint: loggableUrl(config.storage.endpoint),
    bucket: config.storage.bucket,
    prefix: config.storage.prefix || '(none)',
    accessKey: accessKeyId.length > 8 ? `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}` : '(set)',
    secretKey: '(set)',
    station: config.station,
    publicUrl: config.publicUrl === undefined ? '(not set)' : loggableUrl(config.publicUrl),
  };
}
