import { readFragment, writeFragment } from './cmaf-fragment.ts';

/**
 * A warm start for the Opus decoder. A browser starts a new Opus decoder when the SourceBuffer
 * switches to LQ in the middle of a run, and a decoder that starts on a packet in the middle of a
 * stream is not where the encoder was: CELT predicts each frame's band energies from the previous
 * frame's, so the level climbs for about 100 ms, and Chromium and Firefox also lose that first
 * packet (Chromium skips it, Firefox plays 20 ms of silence in its place). RFC 7845 asks for 80 ms of
 * preroll after a seek. Both browsers take one frame of preroll before an append window (see below), so
 * the preroll is the end of the fragment before, its last packets joined into one Opus packet of up
 * to 120 ms (RFC 6716, code 3).
 */

/** The longest Opus packet, in samples at 48 kHz (RFC 6716: 120 ms). */
const MAX_PACKET_SAMPLES = 5760;
/** The most preroll taken, in samples: 100 ms (RFC 7845 asks for at least 80). */
export const PREROLL_SAMPLES = 4800;
const MAX_FRAME_BYTES = 1275;

/** Samples at 48 kHz of one frame of TOC configuration `config` (RFC 6716, 3.1). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config & 3]!;
  if (config < 16) return [480, 960][config & 1]!;
  return [120, 240, 480, 960][config & 3]!;
}

/** Frame lengths as code 3 writes them: one byte below 252, else two. */
function frameLength(length: number): number[] {
  if (length < 252) return [length];
  const first = 252 + (length & 3);
  return [first, (length - first) >> 2];
}

/**
 * One code-3 packet with the frames of `packets` (each a single-frame, code-0 packet of one TOC
 * configuration), or undefined when they cannot be joined (another code, a change of configuration,
 * more than 120 ms).
 */
export function joinOpusPackets(packets: readonly Uint8Array[]): Uint8Array | undefined {
  const toc = packets[0]?.[0];
  if (toc === undefined || packets.length > 48) return undefined;
  if (packets.some((p) => p.length < 2 || p[0] !== toc || p.length - 1 > MAX_FRAME_BYTES) || (toc & 3) !== 0) return undefined;
  if (packets.length * frameSamples(toc >> 3) > MAX_PACKET_SAMPLES) return undefined;
  // TOC with code 3, then VBR with M frames, then M - 1 lengths (the last frame takes the rest).
  const header = [(toc & 0xfc) | 3, 0x80 | packets.length, ...packets.slice(0, -1).flatMap((p) => frameLength(p.length - 1))];
  const out = new Uint8Array(header.length + packets.reduce((sum, p) => sum + p.length - 1, 0));
  out.set(header);
  let offset = header.length;
  for (const p of packets) {
    out.set(p.subarray(1), offset);
    offset += p.length - 1;
  }
  return out;
}

/**
 * `fragment` (an LQ fragment in the middle of a run) with a preroll in front: one packet made of the
 * last packets of `previous` (the fragment before it in its run, up to {@link PREROLL_SAMPLES}),
 * ending where `fragment` begins. Appended inside `fragment`'s own append window, the preroll lies
 * wholly before it: the browser drops it from the buffer but hands it to the decoder first (Chromium
 * keeps the last frame before the window as preroll, Firefox re-adds it as a frame of no duration
 * that its trimmer drops after decoding). Undefined when either cannot be read or the packets cannot
 * be joined.
 */
export function withOpusPreroll(fragment: ArrayBuffer, previous: ArrayBuffer): ArrayBuffer | undefined {
  let current, before;
  try {
    current = readFragment(fragment);
    before = readFragment(previous);
  } catch {
    return undefined;
  }
  const { samples } = before;
  const end = before.baseMediaDecodeTime + samples.reduce((sum, s) => sum + s.duration, 0);
  if (end !== current.baseMediaDecodeTime || current.trackId !== before.trackId) return undefined;
  let first = samples.length;
  let duration = 0;
  while (first > 0 && duration + samples[first - 1]!.duration <= PREROLL_SAMPLES && samples[first - 1]!.data[0] === samples.at(-1)!.data[0]) {
    duration += samples[--first]!.duration;
  }
  const packet = joinOpusPackets(samples.slice(first).map((s) => s.data));
  if (!packet) return undefined;
  return writeFragment({ trackId: current.trackId, baseMediaDecodeTime: end - duration, samples: [{ duration, data: packet }, ...current.samples] });
}
