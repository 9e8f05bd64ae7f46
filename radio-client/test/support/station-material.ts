import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseManifestText, type Manifest, type StreamName } from '@radio/protocol';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** Segments made by `radio-server encode`, ready to be published again and again under new seqs. */
export interface StationMaterial {
  manifest: Manifest;
  segments: Array<Record<StreamName, Buffer> & { samples: number }>;
}

/**
 * A stereo 48 kHz tone cut into segments by the real encoder. 997 Hz fills 2 s and 10 s segments
 * with whole cycles, so reusing segments in a loop keeps the tone continuous.
 */
export async function encodeTone(dir: string, segmentSeconds: number, segmentCount: number): Promise<StationMaterial> {
  const wav = join(dir, 'tone.wav');
  const out = join(dir, 'encoded');
  const seconds = segmentSeconds * segmentCount;
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=997:sample_rate=48000:duration=${seconds}`, '-ac', '2', '-c:a', 'pcm_s16le', wav]);
  const cli = join(repo, 'radio-server', 'dist', 'cli', 'main.js');
  await run(process.execPath, [cli, 'encode', wav, '--out', out, '--segment-seconds', String(segmentSeconds), '--station', 'Loopback FM']).catch((error: Error) => {
    throw new Error(`radio-server encode failed (has \`npm run build\` run?): ${error.message}`);
  });
  const parsed = parseManifestText(await readFile(join(out, 'manifest.json'), 'utf8'));
  if (!parsed.ok) throw new Error(parsed.error);
  const { manifest } = parsed;
  const segments = await Promise.all(
    manifest.streams.hq.segments.map(async (hq, i) => ({
      hq: await readFile(join(out, hq.uri)),
      lq: await readFile(join(out, manifest.streams.lq.segments[i]!.uri)),
      samples: hq.samples,
    })),
  );
  return { manifest, segments };
}
