import { copyFile, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { readFlacHead } from './flac-metadata.js';
import { parseRecordingName, recordingName } from './recording-name.js';

/** fsync a file or directory by path, so a rename or a copy survives a power cut. */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Moves `from` to `to`: a rename on one filesystem; across filesystems (EXDEV) a copy to `to.partial`,
 * fsync, rename into place, then the source is unlinked, so a crash at any point leaves a whole file.
 */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const partial = `${to}.partial`;
    await copyFile(from, partial);
    await syncPath(partial);
    await rename(partial, to);
    await syncPath(dirname(to));
    await unlink(from);
  }
  await syncPath(dirname(to));
}

async function sameRecording(a: string, b: string): Promise<boolean> {
  const [sizeA, sizeB] = await Promise.all([stat(a), stat(b)]);
  if (sizeA.size !== sizeB.size) return false;
  const [headA, headB] = await Promise.all([a, b].map(async (path) => {
    const handle = await open(path, 'r');
    try {
      return (await readFlacHead(handle)).streamInfo;
    } finally {
      await handle.close();
    }
  }));
  return headA!.totalSamples === headB!.totalSamples && headA!.md5.equals(headB!.md5);
}

/**
 * Moves a finished recording from staging into `recordingsDir` under its own name, never over another
 * recording: a name already taken gets `.1`, `.2`... unless that file is this very recording (a move
 * interrupted after the copy), in which case the staging copy is just removed. Returns the final path.
 */
export async function moveIntoRecordings(stagingPath: string, recordingsDir: string): Promise<string> {
  if (resolve(dirname(stagingPath)) === resolve(recordingsDir)) return stagingPath; // already there: never "dedupe" it away
  const name = basename(stagingPath);
  const start = parseRecordingName(name);
  for (let duplicate = 0; ; duplicate++) {
    const target = join(recordingsDir, duplicate === 0 ? name : start ? recordingName(start, duplicate) : name.replace(/\.flac$/, `.${duplicate}.flac`));
    const taken = await stat(target).then(() => true, () => false);
    if (!taken) {
      await moveFile(stagingPath, target);
      return target;
    }
    if (await sameRecording(stagingPath, target).catch(() => false)) {
      await unlink(stagingPath);
      return target;
    }
  }
}
