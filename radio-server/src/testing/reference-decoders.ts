import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MAX_BUFFER = 1 << 30;

/** Decodes a file with ffmpeg (the independent judge) to interleaved integers of the given width. */
export async function ffmpegDecodeInt(path: string, bits: 16 | 24): Promise<Int32Array> {
  const format = bits === 16 ? 's16le' : 's24le';
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', format, '-'], { encoding: 'buffer', maxBuffer: MAX_BUFFER });
  const width = bits / 8;
  const out = new Int32Array(stdout.length / width);
  for (let i = 0; i < out.length; i++) out[i] = stdout.readIntLE(i * width, width);
  return out;
}

/** Decodes a file with ffmpeg to interleaved 32-bit floats. */
export async function ffmpegDecodeFloat(path: string): Promise<Float32Array> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'f32le', '-'], { encoding: 'buffer', maxBuffer: MAX_BUFFER });
  return new Float32Array(stdout.buffer, stdout.byteOffset, stdout.length / 4).slice();
}

/** `flac -t`: frame CRCs and the STREAMINFO MD5. Returns its output (warnings and errors included). */
export async function flacTest(path: string): Promise<string> {
  const { stdout, stderr } = await run('flac', ['-t', '--silent', path]).catch((error: { stdout: string; stderr: string }) => error);
  return `${stdout}${stderr}`;
}

/** Signal-to-noise ratio in dB of `decoded` (floats) against `reference` (integers of `bits` bits). */
export function snrDb(reference: Int32Array, bits: number, decoded: Float32Array): number {
  const scale = 2 ** (bits - 1);
  let signal = 0;
  let error = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]! / scale;
    const e = r - decoded[i]!;
    signal += r * r;
    error += e * e;
  }
  return 10 * Math.log10(signal / error);
}
