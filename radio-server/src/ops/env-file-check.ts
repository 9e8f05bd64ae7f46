import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from './logger.js';

/** Where the daemon's secrets live: the systemd unit's EnvironmentFile, and `.env` in the working directory. */
export const SECRET_ENV_FILES = ['/etc/radio-server/secrets.env', '.env'];

const SETS_SECRET_KEY = /^\s*(?:export\s+)?R2_SECRET_KEY\s*=\s*\S/m;

/** Whether the file sets R2_SECRET_KEY; a file this process may not read is assumed to. */
async function holdsSecretKey(path: string): Promise<boolean> {
  try {
    return SETS_SECRET_KEY.test(await readFile(path, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * Warns, one line per file, when an env file that sets R2_SECRET_KEY is readable by its group or by
 * others: anyone who can read it can write to the bucket. Missing files are skipped. Returns the
 * absolute paths warned about.
 */
export async function checkEnvFilePermissions(log: Logger, paths: readonly string[] = SECRET_ENV_FILES): Promise<string[]> {
  const exposed: string[] = [];
  for (const path of paths.map((p) => resolve(p))) {
    const mode = await stat(path).then((s) => s.mode & 0o777, () => undefined);
    if (mode === undefined || (mode & 0o044) === 0 || !(await holdsSecretKey(path))) continue;
    const readers = [(mode & 0o040) !== 0 && 'its group', (mode & 0o004) !== 0 && 'all users'].filter(Boolean).join(' and ');
    const octal = mode.toString(8).padStart(4, '0');
    log.warn({ file: path, mode: octal }, `${path} holds R2_SECRET_KEY and is readable by ${readers} (mode ${octal}): run \`chmod 600 ${path}\``);
    exposed.push(path);
  }
  return exposed;
}
