import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest, type Manifest } from '@radio/protocol';
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

/** The HQ segments the manifest lists, decoded by ffmpeg and concatenated. */
export async function decodeListedHq(store: ObjectStore, manifest: Manifest, dir: string): Promise<Int32Array> {
  const parts = await Promise.all(manifest.streams.hq.segments.map(async (s) => ffmpegDecodeInt(await download(store, s.uri, dir), 24)));
  const all = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) (all.set(part, offset), (offset += part.length));
  return all;
}
