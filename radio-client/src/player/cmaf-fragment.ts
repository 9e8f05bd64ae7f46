/**
 * Reading and writing single-track CMAF fragments (`moof` + `mdat`), as far as the player needs it:
 * the samples of a fragment, and a fragment made of samples of its own (the Opus preroll).
 */

/** One sample of a fragment: its duration (in the track's timescale) and its bytes. */
export interface FragmentSample {
  duration: number;
  data: Uint8Array;
}

/** What a fragment holds. */
export interface Fragment {
  trackId: number;
  /** `tfdt`: the media time of the first sample. */
  baseMediaDecodeTime: number;
  samples: FragmentSample[];
}

const CHILDREN_OF: Record<string, true> = { moof: true, traf: true };

interface Box {
  type: string;
  /** Offset of the payload (after the header) in the file. */
  start: number;
  end: number;
}

function boxesIn(view: DataView, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  for (let offset = start; offset + 8 <= end; ) {
    let size = view.getUint32(offset);
    const type = String.fromCharCode(view.getUint8(offset + 4), view.getUint8(offset + 5), view.getUint8(offset + 6), view.getUint8(offset + 7));
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(offset + 8));
      header = 16;
    }
    if (size < header || offset + size > end) throw new Error(`the ${type} box at byte ${offset} does not fit`);
    boxes.push({ type, start: offset + header, end: offset + size });
    offset += size;
  }
  return boxes;
}

function find(view: DataView, boxes: Box[], path: string[]): Box | undefined {
  const [first, ...rest] = path;
  const box = boxes.find((b) => b.type === first);
  if (!box || rest.length === 0) return box;
  return CHILDREN_OF[box.type] ? find(view, boxesIn(view, box.start, box.end), rest) : undefined;
}

/** The samples of a one-track fragment; throws on a fragment it cannot read. */
export function readFragment(bytes: ArrayBuffer): Fragment {
  const view = new DataView(bytes);
  const top = boxesIn(view, 0, bytes.byteLength);
  const moof = top.find((b) => b.type === 'moof');
  const tfhd = find(view, top, ['moof', 'traf', 'tfhd']);
  const tfdt = find(view, top, ['moof', 'traf', 'tfdt']);
  const trun = find(view, top, ['moof', 'traf', 'trun']);
  if (!moof || !tfhd || !tfdt || !trun) throw new Error('no moof with a tfhd, tfdt and trun');
  const tfhdFlags = view.getUint32(tfhd.start) & 0xffffff;
  const trackId = view.getUint32(tfhd.start + 4);
  let at = tfhd.start + 8;
  let base = moof.start - 8;
  if (tfhdFlags & 0x1) {
    base = Number(view.getBigUint64(at));
    at += 8;
  }
  if (tfhdFlags & 0x2) at += 4;
  const defaultDuration = tfhdFlags & 0x8 ? view.getUint32(at) : 0;
  if (tfhdFlags & 0x8) at += 4;
  const defaultSize = tfhdFlags & 0x10 ? view.getUint32(at) : 0;
  const baseMediaDecodeTime = view.getUint8(tfdt.start) === 1 ? Number(view.getBigUint64(tfdt.start + 4)) : view.getUint32(tfdt.start + 4);
  const trunFlags = view.getUint32(trun.start) & 0xffffff;
  const count = view.getUint32(trun.start + 4);
  at = trun.start + 8;
  let dataOffset = 0;
  if (trunFlags & 0x1) {
    dataOffset = view.getInt32(at);
    at += 4;
  }
  if (trunFlags & 0x4) at += 4;
  let offset = base + dataOffset;
  const samples: FragmentSample[] = [];
  for (let i = 0; i < count; i++) {
    const duration = trunFlags & 0x100 ? view.getUint32((at += 4) - 4) : defaultDuration;
    const size = trunFlags & 0x200 ? view.getUint32((at += 4) - 4) : defaultSize;
    if (trunFlags & 0x400) at += 4;
    if (trunFlags & 0x800) at += 4;
    if (offset + size > bytes.byteLength) throw new Error('a sample lies past the end of the fragment');
    samples.push({ duration, data: new Uint8Array(bytes, offset, size) });
    offset += size;
  }
  return { trackId, baseMediaDecodeTime, samples };
}

function box(type: string, ...payload: Uint8Array[]): Uint8Array {
  const size = 8 + payload.reduce((sum, p) => sum + p.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, size);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  let offset = 8;
  for (const p of payload) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function words(...values: Array<number | bigint>): Uint8Array {
  const bytes = values.reduce<number>((sum, v) => sum + (typeof v === 'bigint' ? 8 : 4), 0);
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const v of values) {
    if (typeof v === 'bigint') view.setBigUint64((offset += 8) - 8, v);
    else view.setUint32((offset += 4) - 4, v);
  }
  return out;
}

/** A fragment (`moof` + `mdat`) holding `fragment`'s samples, every one a sync sample. */
export function writeFragment({ trackId, baseMediaDecodeTime, samples }: Fragment): ArrayBuffer {
  const mfhd = box('mfhd', words(0, 1));
  // default-base-is-moof, default-sample-flags-present (a sync sample, depending on no other).
  const tfhd = box('tfhd', words(0x020020, trackId, 0x02000000));
  const tfdt = box('tfdt', words(0x01000000, BigInt(baseMediaDecodeTime)));
  const trunSize = 8 + 12 + samples.length * 8;
  const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunSize;
  // data-offset, sample-duration and sample-size present.
  const trun = box('trun', words(0x000301, samples.length, moofSize + 8, ...samples.flatMap((s) => [s.duration, s.data.length])));
  const moof = box('moof', mfhd, box('traf', tfhd, tfdt, trun));
  const mdat = box('mdat', ...samples.map((s) => s.data));
  const out = new Uint8Array(moof.length + mdat.length);
  out.set(moof);
  out.set(mdat, moof.length);
  return out.buffer;
}
