import type { FileHandle } from 'node:fs/promises';

/** Byte offset of the STREAMINFO body: after `fLaC` and the block's 4-byte header. */
const STREAMINFO_BODY = 8;
const STREAMINFO_LENGTH = 34;
const VORBIS_COMMENT = 4;

/** What STREAMINFO says about a FLAC stream. */
export interface StreamInfo {
  minFrameBytes: number;
  maxFrameBytes: number;
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0 when unknown (a staging file whose encoder never finished). */
  totalSamples: number;
  md5: Buffer;
}

/** The metadata at the head of a FLAC file. */
export interface FlacHead {
  streamInfo: StreamInfo;
  /** Vorbis comments by upper-case field name (the first of each). */
  comments: Map<string, string>;
  /** Byte offset of the first audio frame. */
  audioOffset: number;
}

/** Thrown when a file does not start with complete FLAC metadata; `truncated` when it just ends too early. */
export class NotFlacError extends Error {
  override readonly name = 'NotFlacError';
  constructor(
    message: string,
    readonly truncated: boolean,
  ) {
    super(message);
  }
}

async function readAt(file: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, offset);
  if (bytesRead < length) throw new NotFlacError(`its metadata ends at byte ${offset + bytesRead}`, true);
  return buffer;
}

/** Reads STREAMINFO, the Vorbis comments and where the audio starts; throws NotFlacError if they are not all there. */
export async function readFlacHead(file: FileHandle): Promise<FlacHead> {
  const magic = await readAt(file, 0, 4);
  if (magic.toString('latin1') !== 'fLaC') throw new NotFlacError('it does not start with fLaC', false);
  const first = await readAt(file, 4, 4);
  if ((first[0]! & 0x7f) !== 0 || first.readUIntBE(1, 3) !== STREAMINFO_LENGTH) throw new NotFlacError('its first block is not STREAMINFO', false);
  const streamInfo = parseStreamInfo(await readAt(file, STREAMINFO_BODY, STREAMINFO_LENGTH));
  let comments = new Map<string, string>();
  let offset = STREAMINFO_BODY + STREAMINFO_LENGTH;
  let last = (first[0]! & 0x80) !== 0;
  while (!last) {
    const header = await readAt(file, offset, 4);
    last = (header[0]! & 0x80) !== 0;
    const length = header.readUIntBE(1, 3);
    if ((header[0]! & 0x7f) === VORBIS_COMMENT) comments = parseVorbisComments(await readAt(file, offset + 4, length));
    offset += 4 + length;
  }
  return { streamInfo, comments, audioOffset: offset };
}

function parseStreamInfo(body: Buffer): StreamInfo {
  // Bytes 10..17 pack: sample rate (20 bits), channels - 1 (3), bits per sample - 1 (5), total samples (36).
  const packed = body.readBigUInt64BE(10);
  return {
    minFrameBytes: body.readUIntBE(4, 3),
    maxFrameBytes: body.readUIntBE(7, 3),
    sampleRate: Number(packed >> 44n),
    channels: Number((packed >> 41n) & 7n) + 1,
    bitsPerSample: Number((packed >> 36n) & 31n) + 1,
    totalSamples: Number(packed & 0xf_ffff_ffffn),
    md5: Buffer.from(body.subarray(18, 34)),
  };
}

function parseVorbisComments(body: Buffer): Map<string, string> {
  const comments = new Map<string, string>();
  let at = 4 + body.readUInt32LE(0);
  const count = body.readUInt32LE(at);
  at += 4;
  for (let i = 0; i < count && at + 4 <= body.length; i++) {
    const length = body.readUInt32LE(at);
    const entry = body.toString('utf8', at + 4, at + 4 + length);
    at += 4 + length;
    const equals = entry.indexOf('=');
    const key = entry.slice(0, equals).toUpperCase();
    if (equals > 0 && !comments.has(key)) comments.set(key, entry.slice(equals + 1));
  }
  return comments;
}

/** Rewrites STREAMINFO's frame sizes, total samples and MD5 in place (the rest of the file is untouched). */
export async function patchStreamInfo(file: FileHandle, info: Pick<StreamInfo, 'minFrameBytes' | 'maxFrameBytes' | 'totalSamples' | 'md5'>): Promise<void> {
  const body = await readAt(file, STREAMINFO_BODY, STREAMINFO_LENGTH);
  body.writeUIntBE(info.minFrameBytes, 4, 3);
  body.writeUIntBE(info.maxFrameBytes, 7, 3);
  const packed = body.readBigUInt64BE(10);
  body.writeBigUInt64BE((packed & ~0xf_ffff_ffffn) | BigInt(info.totalSamples), 10);
  info.md5.copy(body, 18);
  await file.write(body, 0, STREAMINFO_LENGTH, STREAMINFO_BODY);
}
