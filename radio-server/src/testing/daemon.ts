import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Target } from '../publish/s3-store.js';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** The daemon started as the operator would: the built CLI in its own process. */
export interface Daemon {
  process: ChildProcess;
  /** Everything it wrote to stderr (its log) and stdout so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** The environment that points the daemon at `target`. */
export function storageEnv(target: S3Target): Record<string, string> {
  return {
    R2_ENDPOINT: target.endpoint,
    R2_BUCKET: target.bucket,
    R2_ACCESS_KEY: target.credentials.accessKeyId,
    R2_SECRET_KEY: target.credentials.secretAccessKey,
    R2_PREFIX: target.prefix,
  };
}

/**
 * Starts `radio-server <args>`, optionally behind a wrapper command (e.g. faketime). Unless `env` says
 * otherwise: /metrics off, and recordings in a fresh temporary directory.
 */
export function startDaemon(args: string[], env: Record<string, string>, wrapper: string[] = []): Daemon {
  const [command, ...rest] = [...wrapper, process.execPath, CLI, ...args];
  const child = spawn(command!, rest, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', METRICS_PORT: '0', RECORDINGS_DIR: mkdtempSync(join(tmpdir(), 'radio-recordings-')), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { process: child, output: () => output, exited };
}

/** Polls `condition` every `intervalMs` until it returns a value other than undefined/false, or fails at the deadline. */
export async function waitFor<T>(what: string, condition: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
