import { writeFile } from 'node:fs/promises';
import type { Signal } from './signals.js';

/** Encodes a signal as a canonical PCM WAV file (48 kHz unless told). */
export function wavBytes(signal: Signal, sampleRate = 48000): Buffer {
  const width = signal.bits / 8;
  const data = Buffer.alloc(signal.samples.length * width);
  for (let i = 0; i < signal.samples.length; i++) data.writeIntLE(signal.samples[i]!, i * width, width);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(signal.channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * signal.channels * width, 28);
  header.writeUInt16LE(signal.channels * width, 32);
  header.writeUInt16LE(signal.bits, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

export async function writeWav(path: string, signal: Signal, sampleRate = 48000): Promise<void> {
  await writeFile(path, wavBytes(signal, sampleRate));
}
