import { open, type FileHandle } from 'node:fs/promises';
import { UserError } from '../shared/user-error.js';
import type { PcmFormat, PcmSamples } from '../segment/pcm.js';
import { BYTES_PER_SAMPLE, decodePcm, KEPT_BITS, type RawSampleFormat } from './pcm-decode.js';

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Size of the chunk headers we scan for `fmt ` and `data`. */
const HEADER_SCAN_BYTES = 1 << 16;
const STATION_RATE = 48000;

/** A WAV file opened for reading: its format and a reader of its PCM. */
export interface WavFile {
  path: string;
  format: PcmFormat;
  rawFormat: RawSampleFormat;
  /** Whole frames of audio in the file. */
  frames: number;
  /** Set when the file is shorter than its header says: the audio is read up to its last whole frame. */
  truncatedBy?: number;
  /** Reads the PCM in blocks of up to `framesPerBlock` frames; `from` is a frame index (for looping). */
  blocks(framesPerBlock: number, from?: number): AsyncGenerator<PcmSamples>;
  close(): Promise<void>;
}

/**
 * Opens a WAV file of integer PCM at 48 kHz, mono or stereo, 16/24/32-bit. Anything else is a
 * {@link UserError} that names the problem and how to convert the file.
 */
export async function openWavFile(path: string): Promise<WavFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (check its permissions)' : `cannot be opened (${code})`;
    throw new UserError(`input ${path} ${why}`);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new UserError(`input ${path} is a directory, not a WAV file`);
    const { size } = info;
    const head = Buffer.alloc(Math.min(size, HEADER_SCAN_BYTES));
    await handle.read(head, 0, head.length, 0);
    const layout = parseHeader(path, head);
    const frameBytes = layout.channels * BYTES_PER_SAMPLE[layout.rawFormat];
    const available = Math.max(0, size - layout.dataOffset);
    const declared = layout.dataBytes;
    const dataBytes = Math.min(declared, available);
    const frames = Math.floor(dataBytes / frameBytes);
    const format: PcmFormat = { sampleRate: STATION_RATE, channels: layout.channels, bitsPerSample: KEPT_BITS[layout.rawFormat] };
    const truncatedBy = declared > available && declared !== 0xffffffff ? declared - available : undefined;
    return {
      path,
      format,
      rawFormat: layout.rawFormat,
      frames,
      ...(truncatedBy !== undefined && { truncatedBy }),
      blocks: (framesPerBlock, from = 0) => readBlocks(handle, layout.dataOffset, frameBytes, frames, framesPerBlock, from, layout.rawFormat),
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

interface WavLayout {
  channels: 1 | 2;
  rawFormat: RawSampleFormat;
  dataOffset: number;
  dataBytes: number;
}

function parseHeader(path: string, head: Buffer): WavLayout {
  const notWav = new UserError(`input ${path} is not a WAV file (expected a RIFF/WAVE header); convert it with: ffmpeg -i ${path} -ar 48000 -c:a pcm_s24le out.wav`);
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') throw notWav;
  let offset = 12;
  let fmt: Omit<WavLayout, 'dataOffset' | 'dataBytes'> | undefined;
  while (offset + 8 <= head.length) {
    const id = head.toString('latin1', offset, offset + 4);
    const size = head.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (body + 16 > head.length) throw notWav;
      fmt = parseFmt(path, head.subarray(body, body + size));
    } else if (id === 'data') {
      if (!fmt) throw new UserError(`input ${path} is not a valid WAV file: its data chunk comes before its fmt chunk`);
      return { ...fmt, dataOffset: body, dataBytes: size };
    }
    offset = body + size + (size % 2);
  }
  throw new UserError(`input ${path} is not a valid WAV file: no ${fmt ? 'data' : 'fmt'} chunk found`);
}

function parseFmt(path: string, fmt: Buffer): Omit<WavLayout, 'dataOffset' | 'dataBytes'> {
  let tag = fmt.readUInt16LE(0);
  const channels = fmt.readUInt16LE(2);
  const rate = fmt.readUInt32LE(4);
  const bits = fmt.readUInt16LE(14);
  if (tag === WAVE_FORMAT_EXTENSIBLE && fmt.length >= 26) tag = fmt.readUInt16LE(24);
  const convert = `convert it with: ffmpeg -i ${path} -ar 48000 -c:a pcm_s24le out.wav`;
  if (tag === WAVE_FORMAT_IEEE_FLOAT) throw new UserError(`input is ${bits}-bit floating point; the station takes integer PCM (16, 24 or 32-bit): ${convert}`);
  if (tag !== WAVE_FORMAT_PCM) throw new UserError(`input uses WAV format tag 0x${tag.toString(16)}, not integer PCM: ${convert}`);
  if (rate !== STATION_RATE) throw new UserError(`input is ${rate} Hz; the station runs at ${STATION_RATE} Hz: ${convert}`);
  if (channels !== 1 && channels !== 2) throw new UserError(`input has ${channels} channels; the station takes mono or stereo: pick two with ffmpeg -i ${path} -ac 2 -ar 48000 -c:a pcm_s24le out.wav`);
  const rawFormat = ({ 16: 's16le', 24: 's24le', 32: 's32le' } as const)[bits as 16 | 24 | 32];
  if (!rawFormat) throw new UserError(`input is ${bits}-bit PCM; the station takes 16, 24 or 32-bit: ${convert}`);
  return { channels, rawFormat };
}

/** Frames read from the file in one call: a second of audio, handed out as blocks of the size asked for. */
const READ_FRAMES = 48000;

async function* readBlocks(
  handle: FileHandle, dataOffset: number, frameBytes: number, frames: number, framesPerBlock: number, from: number, rawFormat: RawSampleFormat,
): AsyncGenerator<PcmSamples> {
  // Reading a second at a time: a read is a round trip through libuv's thread pool, ten a second cost
  // the live file source more than decoding them.
  const readFrames = Math.max(framesPerBlock, Math.floor(READ_FRAMES / framesPerBlock) * framesPerBlock);
  const buffer = Buffer.alloc(readFrames * frameBytes);
  for (let frame = from; frame < frames; ) {
    const want = Math.min(readFrames, frames - frame);
    const { bytesRead } = await handle.read(buffer, 0, want * frameBytes, dataOffset + frame * frameBytes);
    const whole = Math.floor(bytesRead / frameBytes);
    if (whole === 0) return;
    for (let at = 0; at < whole; at += framesPerBlock) {
      yield decodePcm(buffer.subarray(at * frameBytes, Math.min(whole, at + framesPerBlock) * frameBytes), rawFormat);
    }
    frame += whole;
  }
}
