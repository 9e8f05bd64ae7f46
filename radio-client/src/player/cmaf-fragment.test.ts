import { describe, expect, it } from 'vitest';
// The daemon's own fragment writer: the player reads what the station writes.
import { mediaFragment } from '../../../radio-server/src/encode/cmaf.ts';
import { readFragment, writeFragment } from './cmaf-fragment.ts';

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

const packets = [new Uint8Array([0xfc, 1, 2, 3]), new Uint8Array([0xfc, 4, 5]), new Uint8Array([0xfc, 6])];

describe(readFragment.name, () => {
  it("reads the track, tfdt and samples of the station's fragments", () => {
    const bytes = mediaFragment({ sequenceNumber: 7, baseMediaDecodeTime: 1_796_160_000 * 48000, samples: packets.map((p) => ({ bytes: p, duration: 960 })) });
    const fragment = readFragment(arrayBuffer(bytes));
    expect(fragment.trackId).toBe(1);
    expect(fragment.baseMediaDecodeTime).toBe(1_796_160_000 * 48000);
    expect(fragment.samples.map((s) => [s.duration, [...s.data]])).toEqual(packets.map((p) => [960, [...p]]));
  });

  it('refuses bytes that are no fragment', () => {
    expect(() => readFragment(arrayBuffer(new Uint8Array([0, 0, 0, 8, 0x6d, 0x6f, 0x6f, 0x76])))).toThrow(/no moof/);
    expect(() => readFragment(new ArrayBuffer(3))).toThrow();
  });
});

describe(writeFragment.name, () => {
  it('writes a fragment that reads back the same', () => {
    const written = writeFragment({ trackId: 1, baseMediaDecodeTime: 2 ** 40 + 5, samples: packets.map((data, i) => ({ data, duration: 960 * (i + 1) })) });
    const fragment = readFragment(written);
    expect(fragment.baseMediaDecodeTime).toBe(2 ** 40 + 5);
    expect(fragment.samples.map((s) => [s.duration, [...s.data]])).toEqual(packets.map((p, i) => [960 * (i + 1), [...p]]));
  });
});
