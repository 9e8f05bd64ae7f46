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

const envSchema = z.object({
  R2_PUBLIC_URL: z.url({
    protocol: /^https?$/,
    error: (issue) =>
      issue.input === undefined
        ? 'R2_PUBLIC_URL is not set: give the public URL of the bucket, e.g. https://pub-1234.r2.dev'
        : `R2_PUBLIC_URL must be the public http(s) URL of the bucket, e.g. https://pub-1234.r2.dev (got "${String(issue.input)}")`,
  }),
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
  return {
    r2PublicUrl: R2_PUBLIC_URL.replace(/\/+$/, ''),
    stationName: STATION_NAME ?? DEFAULT_STATION_NAME,
    port: PORT === undefined ? DEFAULT_PORT : Number(PORT),
    host: HOST,
  };
}
