import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { ClassifiedError } from '../shared/classified-error.js';
import type { ObjectStore } from './object-store.js';

/** Why a write failed, and what to do about it, by errno code. */
const WRITE_FAILURES: Record<string, string> = {
  ENOSPC: 'the disk is full; free some space, or write to another disk',
  EDQUOT: 'the disk quota is used up; free some space, or write to another disk',
  EACCES: 'permission denied; check the owner and mode of the folder, or write to another folder',
  EPERM: 'operation not permitted; check the owner and mode of the folder, or write to another folder',
  EROFS: 'the file system is read-only; write to another folder',
};

/**
 * An {@link ObjectStore} on a local directory; each put is a temp file renamed into place (atomic). A
 * failed put is a fatal {@link ClassifiedError} (trying again cannot help a full disk or a read-only
 * folder) whose message names the object, the cause and the fix.
 */
export class DirectoryStore implements ObjectStore {
  constructor(readonly root: string) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    const path = join(this.root, key);
    const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(temp, body);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw await writeFailure(path, error);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(join(this.root, key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isFile() && !e.name.endsWith('.tmp'))
      .map((e) => relative(this.root, join(e.parentPath, e.name)).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix));
  }

  async delete(key: string): Promise<void> {
    await rm(join(this.root, key), { force: true });
  }
}

/** The failure of writing `path` as one sentence: what went wrong and what to do. */
async function writeFailure(path: string, error: unknown): Promise<ClassifiedError> {
  let code = (error as NodeJS.ErrnoException).code ?? 'EWRITE';
  let why = WRITE_FAILURES[code];
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EEXIST') {
    // A folder could not be made. Node's recursive mkdir says ENOENT whatever stopped it (a read-only or
    // locked parent): the nearest existing ancestor tells.
    const { at, isDirectory } = await nearestExisting(dirname(path));
    if (!isDirectory) why = `${at} is a file, not a folder; move it away, or write to another folder`;
    else {
      code = await access(at, constants.W_OK | constants.X_OK).then(() => code, (e: NodeJS.ErrnoException) => e.code ?? code);
      why = WRITE_FAILURES[code];
    }
  }
  return new ClassifiedError(`cannot write ${path}: ${why ?? (error instanceof Error ? error.message : String(error))}`, code, { fatal: true, cause: error });
}

/** The nearest ancestor of `dir` (itself included) that exists. */
async function nearestExisting(dir: string): Promise<{ at: string; isDirectory: boolean }> {
  for (let at = dir; ; at = dirname(at)) {
    const info = await stat(at).catch(() => undefined);
    if (info || dirname(at) === at) return { at, isDirectory: info?.isDirectory() ?? true };
  }
}
