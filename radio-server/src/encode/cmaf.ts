/**
 * The few ISO BMFF boxes of a CMAF audio track (ISO/IEC 14496-12, ISO/IEC 23000-19): an init segment
 * (`ftyp` + `moov`) and fragments (`styp` + `moof` + `mdat`), one track, timescale = sample rate.
 *
 * Written here rather than with a muxer library because the protocol needs exact control that the ones
 * looked at (mediabunny 1.61) do not give: an edit list with both an empty edit (the run's place on a
 * timeline that continues across runs) and a media edit that skips the Opus priming, `tfdt` values chosen
 * by the caller, and each fragment cut and returned as soon as its segment is encoded.
 */

/** The codec-specific part of a track's sample entry. */
export type SampleEntry =
  | { codec: 'flac'; channels: number; bitsPerSample: number; sampleRate: number; streamInfo: Buffer }
  | { codec: 'opus'; channels: number; sampleRate: number; preSkip: number };

export interface InitOptions {
  entry: SampleEntry;
  /**
   * Media time (in samples) where presentation begins: the run's first sample. The edit list maps it to
   * the same presentation time (an empty edit before it), so media time and presentation time agree.
   */
  presentationStart: number;
  /** Samples presented from `presentationStart`, when known (a finished presentation); else 0 (open-ended). */
  presentationDuration?: number;
}

/** One coded frame (an Opus packet, a FLAC frame) and the samples it lasts. */
export interface CodedSample {
  bytes: Uint8Array;
  duration: number;
}

export interface FragmentOptions {
  /** The fragment's sequence number (`mfhd`), increasing through the track. */
  sequenceNumber: number;
  /** `tfdt`: media time of the first sample, in samples. */
  baseMediaDecodeTime: number;
  samples: readonly CodedSample[];
}

const TRACK_ID = 1;
/** sample_depends_on = 2 (an independent sample): every audio frame is a sync sample. */
const SYNC_SAMPLE_FLAGS = 0x02000000;
const UNITY_MATRIX = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];

class BoxWriter {
  private readonly parts: Buffer[] = [];
  private length = 0;

  u8(v: number): this {
    return this.bytes(Buffer.of(v));
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return this.bytes(b);
  }
  i16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.bytes(b);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.bytes(b);
  }
  u64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    return this.bytes(b);
  }
  i64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return this.bytes(b);
  }
  fourcc(s: string): this {
    return this.bytes(Buffer.from(s, 'latin1'));
  }
  zeros(n: number): this {
    return this.bytes(Buffer.alloc(n));
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    this.length += b.byteLength;
    return this;
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

function box(type: string, ...payload: Uint8Array[]): Buffer {
  const w = new BoxWriter();
  const size = 8 + payload.reduce((n, p) => n + p.byteLength, 0);
  w.u32(size).fourcc(type);
  for (const p of payload) w.bytes(p);
  return w.toBuffer();
}

function fullBox(type: string, version: number, flags: number, ...payload: Uint8Array[]): Buffer {
  const header = new BoxWriter().u8(version).u8((flags >> 16) & 0xff).u16(flags & 0xffff).toBuffer();
  return box(type, header, ...payload);
}

function matrix(w: BoxWriter): BoxWriter {
  for (const v of UNITY_MATRIX) w.u32(v);
  return w;
}

function sampleEntry(entry: SampleEntry): Buffer {
  const common = new BoxWriter()
    .zeros(6).u16(1) // reserved, data_reference_index
    .zeros(8) // reserved (version 0)
    .u16(entry.channels)
    .u16(entry.codec === 'flac' ? entry.bitsPerSample : 16)
    .zeros(4) // pre_defined, reserved
    .u32(entry.sampleRate << 16)
    .toBuffer();
  if (entry.codec === 'flac') {
    // dfLa (the FLAC-in-ISOBMFF encapsulation): the STREAMINFO block, marked as the last metadata block.
    const header = Buffer.alloc(4);
    header.writeUInt32BE((0x80000000 | entry.streamInfo.length) >>> 0);
    return box('fLaC', common, fullBox('dfLa', 0, 0, header, entry.streamInfo));
  }
  // dOps (Opus in ISOBMFF): like OpusHead, big-endian, without the magic; mapping family 0 (mono/stereo).
  const dOps = new BoxWriter().u8(0).u8(entry.channels).u16(entry.preSkip).u32(entry.sampleRate).i16(0).u8(0).toBuffer();
  return box('Opus', common, box('dOps', dOps));
}

/** `ftyp` + `moov` for one audio track. */
export function initSegment(options: InitOptions): Buffer {
  const { entry, presentationStart } = options;
  const timescale = entry.sampleRate;
  const duration = options.presentationDuration ?? 0;
  const ftyp = box('ftyp', new BoxWriter().fourcc('iso6').u32(0).fourcc('iso6').fourcc('cmfc').fourcc('mp41').toBuffer());
  const mvhd = fullBox('mvhd', 1, 0, matrix(new BoxWriter()
    .u64(0).u64(0).u32(timescale).u64(0) // creation, modification, timescale, duration (fragmented)
    .u32(0x00010000).u16(0x0100).zeros(10)) // rate, volume, reserved
    .zeros(24).u32(TRACK_ID + 1).toBuffer()); // pre_defined, next_track_ID
  const tkhd = fullBox('tkhd', 1, 0x000003, matrix(new BoxWriter()
    .u64(0).u64(0).u32(TRACK_ID).u32(0).u64(0) // creation, modification, track_ID, reserved, duration
    .zeros(8).u16(0).u16(1).u16(0x0100).u16(0)) // reserved, layer, alternate_group, volume, reserved
    .u32(0).u32(0).toBuffer()); // width, height
  // An empty edit up to the run's start, then the media from the run's first sample: the Opus priming
  // before it is not presented, and the presentation timeline continues the bucket's earlier runs.
  const elst = fullBox('elst', 1, 0, new BoxWriter()
    .u32(2)
    .u64(presentationStart).i64(-1).u16(1).u16(0)
    .u64(duration).i64(presentationStart).u16(1).u16(0)
    .toBuffer());
  const mdhd = fullBox('mdhd', 1, 0, new BoxWriter().u64(0).u64(0).u32(timescale).u64(0).u16(0x55c4).u16(0).toBuffer()); // 'und'
  const hdlr = fullBox('hdlr', 0, 0, new BoxWriter().u32(0).fourcc('soun').zeros(12).bytes(Buffer.from('SoundHandler\0')).toBuffer());
  const smhd = fullBox('smhd', 0, 0, new BoxWriter().i16(0).u16(0).toBuffer());
  const dinf = box('dinf', fullBox('dref', 0, 0, new BoxWriter().u32(1).toBuffer(), fullBox('url ', 0, 1)));
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, new BoxWriter().u32(1).toBuffer(), sampleEntry(entry)),
    fullBox('stts', 0, 0, new BoxWriter().u32(0).toBuffer()),
    fullBox('stsc', 0, 0, new BoxWriter().u32(0).toBuffer()),
    fullBox('stsz', 0, 0, new BoxWriter().u32(0).u32(0).toBuffer()),
    fullBox('stco', 0, 0, new BoxWriter().u32(0).toBuffer()),
  );
  const trak = box('trak', tkhd, box('edts', elst), box('mdia', mdhd, hdlr, box('minf', smhd, dinf, stbl)));
  const trex = fullBox('trex', 0, 0, new BoxWriter().u32(TRACK_ID).u32(1).u32(0).u32(0).u32(SYNC_SAMPLE_FLAGS).toBuffer());
  return Buffer.concat([ftyp, box('moov', mvhd, trak, box('mvex', trex))]);
}

/** `styp` + `moof` + `mdat`: one CMAF fragment (the protocol's segment) of the track. */
export function mediaFragment(options: FragmentOptions): Buffer {
  const { samples } = options;
  const styp = box('styp', new BoxWriter().fourcc('msdh').u32(0).fourcc('msdh').fourcc('cmfs').toBuffer());
  const mfhd = fullBox('mfhd', 0, 0, new BoxWriter().u32(options.sequenceNumber % 2 ** 32).toBuffer());
  // default-base-is-moof, default-sample-flags-present
  const tfhd = fullBox('tfhd', 0, 0x020020, new BoxWriter().u32(TRACK_ID).u32(SYNC_SAMPLE_FLAGS).toBuffer());
  const tfdt = fullBox('tfdt', 1, 0, new BoxWriter().u64(options.baseMediaDecodeTime).toBuffer());
  // One buffer for the trun's entries (duration, size): a fragment has up to 500 of them.
  const entries = Buffer.allocUnsafe(samples.length * 8);
  let mdatBytes = 0;
  for (const [i, s] of samples.entries()) {
    entries.writeUInt32BE(s.duration, i * 8);
    entries.writeUInt32BE(s.bytes.byteLength, i * 8 + 4);
    mdatBytes += s.bytes.byteLength;
  }
  const trunFixed = 4 + 4 + 4; // full box header's version+flags, sample_count, data_offset
  const trunSize = 8 + trunFixed + samples.length * 8;
  const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunSize;
  // data-offset-present, sample-duration-present, sample-size-present; the offset is from the moof's start.
  const trun = fullBox('trun', 0, 0x000301, new BoxWriter().u32(samples.length).u32(moofSize + 8).toBuffer(), entries);
  const moof = box('moof', mfhd, box('traf', tfhd, tfdt, trun));
  const out = Buffer.allocUnsafe(styp.length + moof.length + 8 + mdatBytes);
  let offset = styp.copy(out, 0);
  offset += moof.copy(out, offset);
  offset = out.writeUInt32BE(8 + mdatBytes, offset);
  offset += out.write('mdat', offset, 'latin1');
  for (const s of samples) {
    out.set(s.bytes, offset);
    offset += s.bytes.byteLength;
  }
  return out;
}

/** A FLAC STREAMINFO block body (34 bytes) for a stream of fixed `blockSize`; sizes, total and MD5 unknown (0). */
export function flacStreamInfo(blockSize: number, sampleRate: number, channels: number, bitsPerSample: number): Buffer {
  const b = Buffer.alloc(34);
  b.writeUInt16BE(blockSize, 0);
  b.writeUInt16BE(blockSize, 2);
  // min/max frame size (24 bits each) stay 0: unknown.
  // sample rate (20 bits), channels - 1 (3 bits), bits per sample - 1 (5 bits), total samples (36 bits, 0).
  const packed = (BigInt(sampleRate) << 44n) | (BigInt(channels - 1) << 41n) | (BigInt(bitsPerSample - 1) << 36n);
  b.writeBigUInt64BE(packed, 10);
  return b;
}
