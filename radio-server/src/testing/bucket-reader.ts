import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest, type Manifest, type StreamName } from '@radio/protocol';
import type { ObjectStore } from '../publish/object-store.js';
import { ffmpegDecodeInt } from './reference-decoders.js';

/** The bucket's manifest, validated; undefined when there is none yet. */
export async function readManifest(store: ObjectStore): Promise<Manifest | undefined> {
  const body = await store.get('manifest.json');
  if (!body) return undefined;
  const parsed = parseManifest(JSON.parse(Buffer.from(body).toString('utf8')));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.manifest;
}

/** Copies an object into `dir` (for ffmpeg) and returns the file's path. */
export async function download(store: ObjectStore, key: string, dir: string): Promise<string> {
  const body = await store.get(key);
  if (!body) throw new Error(`${key} is missing from the bucket`);
  const path = join(dir, key.replaceAll('/', '-'));
  await writeFile(path, body);
  return path;
}

/**
 * The listed segments of `stream` as one file a player reads: the run's init, then the fragments in order
 * (all listed segments must belong to one run). Returns the file's path.
 */
export async function downloadTrack(store: ObjectStore, manifest: Manifest, stream: StreamName, dir: string): Promise<string> {
  const segments = manifest.streams[stream].segments;
  const inits = new Set(segments.map((s) => s.init));
  if (inits.size !== 1) throw new Error(`the listed ${stream} segments belong to ${inits.size} runs`);
  const parts = await Promise.all([segments[0]!.init, ...segments.map((s) => s.uri)].map(async (key) => {
    const body = await store.get(key);
    if (!body) throw new Error(`${key} is missing from the bucket`);
    return body;
  }));
  const path = join(dir, `${stream}-track-${segments[0]!.seq}.mp4`);
  await writeFile(path, Buffer.concat(parts));
  return path;
}

/** The HQ segments the manifest lists (one run), decoded by ffmpeg from their init and fragments. */
export async function decodeListedHq(store: ObjectStore, manifest: Manifest, dir: string): Promise<Int32Array> {
  return ffmpegDecodeInt(await downloadTrack(store, manifest, 'hq', dir), 24);
}
