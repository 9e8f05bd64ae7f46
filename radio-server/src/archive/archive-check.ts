import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readFlacHead } from './flac-metadata.js';
import { parseRecordingName } from './recording-name.js';

/** Seams shorter than this are the rounding of millisecond timestamps, not gaps. */
const PRECISE_TOLERANCE_S = 0.002;
/** A start known only from the name (to the second) can be off by up to a second. */
const NAME_TOLERANCE_S = 1;

interface Recording {
  name: string;
  /** Seconds since the epoch of the first sample. */
  start: number;
  seconds: number;
  /** The start comes from the DATE comment (ms), not only from the name (s). */
  precise: boolean;
}

/** Reads a recording's start (its DATE comment when it agrees with the name, else the name) and length. */
async function readRecording(dir: string, name: string, nameStart: Date): Promise<Recording> {
  const file = await open(join(dir, name), 'r');
  try {
    const { streamInfo, comments } = await readFlacHead(file);
    if (streamInfo.totalSamples === 0) throw new Error('its STREAMINFO has no sample count (an unfinished recording: `radio-server run` recovers staging files at start)');
    const dated = Date.parse(comments.get('DATE') ?? '');
    const precise = dated >= nameStart.getTime() && dated < nameStart.getTime() + 1000;
    return { name, start: (precise ? dated : nameStart.getTime()) / 1000, seconds: streamInfo.totalSamples / streamInfo.sampleRate, precise };
  } finally {
    await file.close();
  }
}

/** `1 h 2 min 3.250 s` */
export function formatDuration(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = `${(seconds % 60).toFixed(3)} s`;
  if (hours) return `${hours} h ${minutes} min ${rest}`;
  return minutes ? `${minutes} min ${rest}` : rest;
}

function iso(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString();
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * `radio-server archive check [DIR]`: lists the gaps and overlaps between consecutive recordings (start
 * from the name, refined by the DATE comment; length from STREAMINFO), one line each, then a summary.
 * Returns the exit code: 0 when the sequence is unbroken, 1 when there is a gap, an overlap or a file it
 * cannot read, 2 when the directory is missing.
 */
export async function runArchiveCheck(dir: string, out: { write(text: string): unknown }): Promise<number> {
  const isDirectory = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDirectory) {
    out.write(`archive check: ${dir} is not a directory (set RECORDINGS_DIR or pass the recordings directory)\n`);
    return 2;
  }
  const recordings: Recording[] = [];
  let unreadable = 0;
  for (const name of (await readdir(dir)).sort()) {
    const nameStart = parseRecordingName(name);
    if (!nameStart) continue;
    try {
      recordings.push(await readRecording(dir, name, nameStart));
    } catch (error) {
      unreadable++;
      out.write(`unreadable: ${name}: ${(error as Error).message}\n`);
    }
  }
  recordings.sort((a, b) => a.start - b.start || a.name.localeCompare(b.name));
  const gaps: number[] = [];
  const overlaps: number[] = [];
  for (let i = 1; i < recordings.length; i++) {
    const before = recordings[i - 1]!;
    const after = recordings[i]!;
    const end = before.start + before.seconds;
    const seam = after.start - end;
    const tolerance = before.precise && after.precise ? PRECISE_TOLERANCE_S : NAME_TOLERANCE_S;
    if (Math.abs(seam) < tolerance) continue;
    (seam > 0 ? gaps : overlaps).push(Math.abs(seam));
    out.write(`${seam > 0 ? 'gap' : 'overlap'} of ${formatDuration(Math.abs(seam))}: ${before.name} ends at ${iso(end)}, ${after.name} starts at ${iso(after.start)}\n`);
  }
  out.write(`${summary(dir, recordings, gaps, overlaps, unreadable)}\n`);
  return gaps.length || overlaps.length || unreadable ? 1 : 0;
}

function summary(dir: string, recordings: Recording[], gaps: number[], overlaps: number[], unreadable: number): string {
  if (!recordings.length) return `${dir}: no recordings${unreadable ? ` (${plural(unreadable, 'unreadable file')})` : ''}`;
  const first = recordings[0]!;
  const last = recordings.at(-1)!;
  const recorded = recordings.reduce((sum, r) => sum + r.seconds, 0);
  const total = (lengths: number[]): string => formatDuration(lengths.reduce((sum, s) => sum + s, 0));
  const problems = [
    gaps.length ? `${plural(gaps.length, 'gap')} (${total(gaps)} missing)` : '',
    overlaps.length ? `${plural(overlaps.length, 'overlap')} (${total(overlaps)} doubled)` : '',
    unreadable ? plural(unreadable, 'unreadable file') : '',
  ].filter(Boolean);
  const span = `${plural(recordings.length, 'recording')} in ${dir} from ${iso(first.start)} to ${iso(last.start + last.seconds)}, ${formatDuration(recorded)} recorded`;
  return `${span}: ${problems.length ? problems.join(', ') : 'no gaps or overlaps'}`;
}
