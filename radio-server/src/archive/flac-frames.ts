import type { FileHandle } from 'node:fs/promises';

/** The longest frame header: sync, codes, a 7-byte coded number, 16-bit block size and sample rate, CRC-8. */
const MAX_HEADER_BYTES = 16;
const CHUNK_BYTES = 1 << 20;

function crcTable(polynomial: number, width: 8 | 16): Uint16Array {
  const top = 1 << (width - 1);
  const mask = (1 << width) - 1;
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << (width - 8);
    for (let bit = 0; bit < 8; bit++) crc = crc & top ? ((crc << 1) ^ polynomial) & mask : (crc << 1) & mask;
    table[i] = crc;
  }
  return table;
}

/** FLAC's header CRC-8 (x^8 + x^2 + x + 1) and frame CRC-16 (x^16 + x^15 + x^2 + 1), both starting at 0. */
const CRC8 = crcTable(0x07, 8);
const CRC16 = crcTable(0x8005, 16);

function crc8(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = CRC8[crc ^ bytes[i]!]!;
  return crc;
}

/** A frame header's fields the walk needs. */
export interface FrameHeader {
  blockSize: number;
  /** Frame number (fixed block size) or first sample number (variable block size). */
  number: number;
  variableBlockSize: boolean;
}

type HeaderAt = { kind: 'header'; header: FrameHeader } | { kind: 'cut-short' } | { kind: 'none' };

/**
 * Parses the frame header at `at`. `cut-short` means the bytes end inside what could be a header (a torn
 * write); `none` means there is no valid header there (no sync code, a reserved value, or a bad CRC-8).
 */
export function parseFrameHeader(bytes: Uint8Array, at: number): HeaderAt {
  const available = bytes.length - at;
  if (available < 1 || bytes[at] !== 0xff) return { kind: 'none' };
  if (available < 2) return { kind: 'cut-short' };
  if ((bytes[at + 1]! & 0xfe) !== 0xf8) return { kind: 'none' };
  if (available < 5) return { kind: 'cut-short' };
  const blockCode = bytes[at + 2]! >> 4;
  const rateCode = bytes[at + 2]! & 0x0f;
  const channelCode = bytes[at + 3]! >> 4;
  const sizeCode = (bytes[at + 3]! >> 1) & 7;
  if (blockCode === 0 || rateCode === 15 || channelCode > 10 || sizeCode === 3 || (bytes[at + 3]! & 1) !== 0) return { kind: 'none' };
  // The frame or sample number, UTF-8 coded: the count of leading ones of the first byte is its length.
  const lead = bytes[at + 4]!;
  const length = lead < 0x80 ? 1 : lead >= 0xc0 && lead < 0xfe ? Math.clz32(~(lead << 24)) : lead === 0xfe ? 7 : 0;
  if (length === 0) return { kind: 'none' };
  let pos = at + 5;
  let number = length === 1 ? lead : lead & (0x7f >> length);
  for (let i = 1; i < length; i++, pos++) {
    if (pos >= bytes.length) return { kind: 'cut-short' };
    if ((bytes[pos]! & 0xc0) !== 0x80) return { kind: 'none' };
    number = number * 64 + (bytes[pos]! & 0x3f);
  }
  const extra = (blockCode === 6 ? 1 : blockCode === 7 ? 2 : 0) + (rateCode === 12 ? 1 : rateCode === 13 || rateCode === 14 ? 2 : 0);
  if (pos + extra >= bytes.length) return { kind: 'cut-short' };
  let blockSize: number;
  if (blockCode === 1) blockSize = 192;
  else if (blockCode <= 5) blockSize = 576 << (blockCode - 2);
  else if (blockCode === 6) blockSize = bytes[pos]! + 1;
  else if (blockCode === 7) blockSize = ((bytes[pos]! << 8) | bytes[pos + 1]!) + 1;
  else blockSize = 256 << (blockCode - 8);
  pos += extra;
  if (crc8(bytes, at, pos) !== bytes[pos]) return { kind: 'none' };
  return { kind: 'header', header: { blockSize, number, variableBlockSize: (bytes[at + 1]! & 1) === 1 } };
}

/** The frames of a FLAC file that check, from its first frame up to the first one that does not. */
export interface FrameWalk {
  frames: number;
  samples: number;
  /** Byte offset just past the last frame that checks: where a torn file is cut. */
  validEnd: number;
  minFrameBytes: number;
  maxFrameBytes: number;
}

/**
 * Walks the frames from `audioOffset` to the end of the file without decoding them. FLAC frames carry no
 * length, so a frame ends where its CRC-16 (over the whole frame, footer included) comes to zero just
 * before the next valid header, numbered as the next frame. A last frame whose CRC-16 does not check
 * (a write torn by SIGKILL or a power cut) is left out of `validEnd`.
 */
export async function walkFrames(file: FileHandle, audioOffset: number): Promise<FrameWalk> {
  const walk: FrameWalk = { frames: 0, samples: 0, validEnd: audioOffset, minFrameBytes: 0, maxFrameBytes: 0 };
  let current: FrameHeader | undefined;
  let frameStart = audioOffset;
  let crc = 0;
  let window = Buffer.alloc(0);
  let windowStart = audioOffset;
  let atEnd = false;
  const endFrame = (end: number): void => {
    const bytes = end - frameStart;
    walk.frames++;
    walk.samples += current!.blockSize;
    walk.validEnd = end;
    walk.minFrameBytes = walk.frames === 1 ? bytes : Math.min(walk.minFrameBytes, bytes);
    walk.maxFrameBytes = Math.max(walk.maxFrameBytes, bytes);
  };
  const expected = (): number => (current!.variableBlockSize ? walk.samples : walk.frames);
  while (!atEnd) {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    const { bytesRead } = await file.read(chunk, 0, CHUNK_BYTES, windowStart + window.length);
    atEnd = bytesRead < CHUNK_BYTES;
    window = Buffer.concat([window, chunk.subarray(0, bytesRead)]);
    // Keep enough bytes ahead of each position to parse a header there, except at the end of the file.
    const limit = atEnd ? window.length : window.length - MAX_HEADER_BYTES;
    for (let i = 0; i < limit; i++) {
      const position = windowStart + i;
      if (!current) {
        const first = parseFrameHeader(window, i);
        if (first.kind !== 'header' || first.header.number !== 0) return walk;
        current = first.header;
      } else if (crc === 0 && window[i] === 0xff && position > frameStart + 4) {
        const next = parseFrameHeader(window, i);
        if (next.kind === 'cut-short') {
          endFrame(position);
          return walk;
        }
        if (next.kind === 'header') {
          endFrame(position);
          if (next.header.number !== expected()) return walk;
          current = next.header;
          frameStart = position;
        }
      }
      crc = ((crc << 8) & 0xffff) ^ CRC16[(crc >> 8) ^ window[i]!]!;
    }
    window = window.subarray(limit);
    windowStart += limit;
  }
  if (current && crc === 0 && windowStart > frameStart) endFrame(windowStart);
  return walk;
}
