import { describe, expect, it } from 'vitest';
import { oggCrc } from './ogg-crc.js';
import { OggPageWriter } from './ogg-page-writer.js';

interface Page {
  flags: number;
  granule: bigint;
  sequence: number;
  lacing: number[];
  crcOk: boolean;
  body: Buffer;
}

/** Splits an Ogg stream into pages, checking each page's CRC. */
function pages(stream: Buffer): Page[] {
  const out: Page[] = [];
  for (let o = 0; o < stream.length; ) {
    expect(stream.toString('latin1', o, o + 4)).toBe('OggS');
    const count = stream[o + 26]!;
    const lacing = [...stream.subarray(o + 27, o + 27 + count)];
    const length = 27 + count + lacing.reduce((a, b) => a + b, 0);
    const page = Buffer.from(stream.subarray(o, o + length));
    const crc = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    out.push({ flags: page[5]!, granule: page.readBigInt64LE(6), sequence: page.readUInt32LE(18), lacing, crcOk: oggCrc(page) === crc, body: page.subarray(27 + count) });
    o += length;
  }
  return out;
}

describe(oggCrc.name, () => {
  it('matches the Ogg CRC of a known input', () => {
    // CRC-32/MPEG-2 without the final inversion and init 0 (CRC-32/BZIP2's polynomial, unreflected): check value of "123456789".
    expect(oggCrc(Buffer.from('123456789')).toString(16)).toBe('89a1897f');
  });
});

describe(OggPageWriter.name, () => {
  it('puts header packets on their own pages, marks BOS and EOS, and numbers pages', () => {
    const writer = new OggPageWriter(1234, 2);
    writer.writePacket(Buffer.from('head'), 0n);
    writer.flush();
    for (let i = 1; i <= 3; i++) writer.writePacket(Buffer.alloc(10, i), BigInt(i * 960));
    const result = pages(writer.end(Buffer.alloc(10, 4), 3000n));
    expect(result.map((p) => [p.flags, p.granule, p.sequence, p.lacing])).toEqual([
      [0x02, 0n, 0, [4]],
      [0x00, 1920n, 1, [10, 10]],
      [0x04, 3000n, 2, [10, 10]],
    ]);
    expect(result.every((p) => p.crcOk)).toBe(true);
  });

  it('continues a packet longer than one page on the next, with no granule where no packet ends', () => {
    const writer = new OggPageWriter(1, 50);
    const big = Buffer.alloc(255 * 300, 7);
    writer.writePacket(Buffer.from('head'), 0n);
    writer.flush();
    const result = pages(writer.end(big, 960n));
    expect(result.map((p) => [p.flags, p.granule, p.lacing.length])).toEqual([
      [0x02, 0n, 1],
      [0x00, -1n, 255],
      [0x05, 960n, 46],
    ]);
    expect(Buffer.concat(result.slice(1).map((p) => p.body)).equals(big)).toBe(true);
    expect(result.at(-1)!.lacing.at(-1)).toBe(0); // a multiple of 255 ends with a zero lacing value
  });
});
