import * as z from 'zod/mini';
import { StartupError } from './startup-error.ts';

/** The edge app's settings, read once from the environment by an entry point. */
export interface ClientConfig {
  /** Public base URL of the bucket, without a trailing slash; the manifest is `${r2PublicUrl}/manifest.json`. */
  r2PublicUrl: string;
  stationName: string;
  port: number;
  /** Interface to listen on; undefined means every interface. */
  host: string | undefined;
}

/** A setting the operator got wrong, in one sentence. */
export class ConfigError extends StartupError {
  override name = 'ConfigError';
}

/** Characters that end a CSP source or an entry of a URL list, or leave a quoted attribute. */
const UNSAFE_IN_URL = /[\s;,'"`]/;

/**
 * Why `value` is not the bucket's public URL (http(s), an origin and at most a path), in one sentence;
 * undefined when it is one. Its origin goes into the CSP header, so nothing in it may start a directive.
 * The value is not repeated: it could carry credentials.
 */
export function publicUrlProblem(value: string): string | undefined {
  const example = 'give the public URL of the bucket alone, e.g. https://pub-1234.r2.dev';
  if (UNSAFE_IN_URL.test(value)) return `R2_PUBLIC_URL must not contain spaces, quotes, ";" or ",": ${example}`;
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return 'R2_PUBLIC_URL must be the public http(s) URL of the bucket, e.g. https://pub-1234.r2.dev';
  if (url.username !== '' || url.password !== '') return `R2_PUBLIC_URL must not carry a user name or password (listeners read the bucket without them): ${example}`;
  if (value.includes('?')) return `R2_PUBLIC_URL must not have a query (?...): ${example}`;
  if (value.includes('#')) return `R2_PUBLIC_URL must not have a fragment (#...): ${example}`;
  return undefined;
}

const envSchema = z.object({
  R2_PUBLIC_URL: z.string({ error: 'R2_PUBLIC_URL is not set: give the public URL of the bucket, e.g. https://pub-1234.r2.dev' }).check(
    z.superRefine((value, ctx) => {
      const problem = publicUrlProblem(value);
      if (problem) ctx.addIssue(problem);
    }),
  ),
  STATION_NAME: z.optional(z.string().check(z.trim(), z.minLength(1, { error: 'STATION_NAME is empty: leave it unset or give the name' }))),
  PORT: z.optional(
    z.string().check(
      z.refine((value) => /^\d+$/.test(value) && Number(value) <= 65535, {
        error: (issue) => `PORT must be a port number from 0 to 65535 (got "${String(issue.input)}")`,
      }),
    ),
  ),
  HOST: z.optional(z.string().check(z.minLength(1, { error: 'HOST is empty: leave it unset to listen on every interface' }))),
});

/** Same default as the daemon's `--station`. */
const DEFAULT_STATION_NAME = 'Community Radio';
const DEFAULT_PORT = 8080;

/** Reads R2_PUBLIC_URL, STATION_NAME, PORT and HOST; throws a {@link ConfigError} naming the first bad one. */
export function readConfig(env: Record<string, string | undefined>): ClientConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues[0]?.message ?? 'the environment is not a valid configuration');
  const { R2_PUBLIC_URL, STATION_NAME, PORT, HOST } = parsed.data;
  // Origin and path as the URL parser writes them: no credentials, query or fragment can remain.
  const publicUrl = new URL(R2_PUBLIC_URL);
  return {
    r2PublicUrl: `${publicUrl.origin}${publicUrl.pathname}`.replace(/\/+$/, ''),
    stationName: STATION_NAME ?? DEFAULT_STATION_NAME,
    port: PORT === undefined ? DEFAULT_PORT : Number(PORT),
    host: HOST,
  };
}
