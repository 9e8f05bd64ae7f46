import { describe, expect, it } from 'vitest';
import { mediaFragment } from '../../../radio-server/src/encode/cmaf.ts';
import { readFragment } from './cmaf-fragment.ts';
import { joinOpusPackets, PREROLL_SAMPLES, withOpusPreroll } from './opus-preroll.ts';

/** TOC 0xfc: configuration 31 (CELT, fullband, 20 ms), stereo, code 0 (one frame): what libopus writes at 128 kb/s. */
const TOC = 0xfc;

function packet(bytes: number, fill: number, toc = TOC): Uint8Array {
  const p = new Uint8Array(bytes).fill(fill);
  p[0] = toc;
  return p;
}

function fragment(seq: number, count: number, fillFrom: number): ArrayBuffer {
  const samples = Array.from({ length: count }, (_, i) => ({ bytes: packet(200 + i, fillFrom + i), duration: 960 }));
  return new Uint8Array(mediaFragment({ sequenceNumber: seq, baseMediaDecodeTime: seq * count * 960, samples })).slice().buffer;
}

describe(joinOpusPackets.name, () => {
  it('joins code-0 packets into one code-3 packet with VBR frame lengths (RFC 6716, 3.2.5)', () => {
    const joined = joinOpusPackets([packet(301, 1), packet(101, 2), packet(5, 3)])!;
    // TOC with code 3; VBR flag and 3 frames; 300 bytes as 252 + 4 * 12; 100; then the frames.
    expect([...joined.subarray(0, 5)]).toEqual([0xff, 0x83, 252, 12, 100]);
    expect(joined.length).toBe(5 + 300 + 100 + 4);
    expect(joined.subarray(5, 305).every((b) => b === 1)).toBe(true);
    expect(joined.subarray(405).every((b) => b === 3)).toBe(true);
  });

  it('refuses packets it cannot join: other codes, other configurations, more than 120 ms', () => {
    expect(joinOpusPackets([packet(10, 1), packet(10, 2, 0xfd)])).toBeUndefined();
    expect(joinOpusPackets([packet(10, 1), packet(10, 2, 0xf4)])).toBeUndefined();
    expect(joinOpusPackets(Array.from({ length: 7 }, (_, i) => packet(10, i)))).toBeUndefined();
    expect(joinOpusPackets([])).toBeUndefined();
  });
});

describe(withOpusPreroll.name, () => {
  it("puts the previous fragment's last 100 ms, as one packet, before the fragment's first", () => {
    const previous = fragment(41, 100, 0);
    const current = fragment(42, 100, 100);
    const merged = readFragment(withOpusPreroll(current, previous)!);
    const start = 42 * 100 * 960;
    expect(merged.baseMediaDecodeTime).toBe(start - PREROLL_SAMPLES);
    const [preroll, ...rest] = merged.samples;
    expect(preroll!.duration).toBe(PREROLL_SAMPLES);
    expect(preroll!.data).toEqual(joinOpusPackets(readFragment(previous).samples.slice(-5).map((s) => s.data)));
    expect(rest.map((s) => [...s.data])).toEqual(readFragment(current).samples.map((s) => [...s.data]));
  });

  it('takes only the trailing packets of the same configuration', () => {
    const samples = [...Array.from({ length: 97 }, () => ({ bytes: packet(50, 1), duration: 960 })), ...Array.from({ length: 3 }, () => ({ bytes: packet(50, 2, 0xf4), duration: 960 }))];
    const previous = new Uint8Array(mediaFragment({ sequenceNumber: 41, baseMediaDecodeTime: 41 * 96000, samples })).slice().buffer;
    const merged = readFragment(withOpusPreroll(fragment(42, 100, 0), previous)!);
    expect(merged.samples[0]!.duration).toBe(3 * 960);
  });

  it('gives up on a previous fragment that does not end where the fragment begins, or cannot be read', () => {
    expect(withOpusPreroll(fragment(42, 100, 0), fragment(40, 100, 0))).toBeUndefined();
    expect(withOpusPreroll(fragment(42, 100, 0), new ArrayBuffer(16))).toBeUndefined();
  });
});
