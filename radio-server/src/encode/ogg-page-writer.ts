import { oggCrc } from './ogg-crc.js';

const HEADER_BYTES = 27;
const MAX_SEGMENTS_PER_PAGE = 255;

/** Header type flags of an Ogg page (RFC 3533, section 6). */
const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;

/** Granule position of a page on which no packet ends (RFC 3533). */
const NO_GRANULE = -1n;

interface PendingPacket {
  data: Uint8Array;
  granule: bigint;
}

/**
 * Writes one logical Ogg bitstream: packets in, pages out. A page is closed when it would pass
 * `packetsPerPage` packets or 255 lacing values; `flush` closes the current page early (header packets
 * must end their own page per RFC 7845).
 */
export class OggPageWriter {
  private readonly pages: Uint8Array[] = [];
  private pending: PendingPacket[] = [];
  private pageSequence = 0;
  private ended = false;

  constructor(
    private readonly serial: number,
    private readonly packetsPerPage = 50,
  ) {}

  /** Adds a packet; `granule` is the stream's granule position once this packet is decoded. */
  writePacket(data: Uint8Array, granule: bigint): void {
    if (this.ended) throw new Error('OggPageWriter: packet written after end of stream');
    this.pending.push({ data, granule });
    if (this.pending.length >= this.packetsPerPage || lacingCount(this.pending) >= MAX_SEGMENTS_PER_PAGE) this.flush();
  }

  /** Closes the current page, if it holds any packet. */
  flush(): void {
    if (this.pending.length > 0) this.emitPages(false);
  }

  /**
   * Closes the stream with its last packet, on a page that carries the EOS flag; a `granule` below the
   * samples decoded trims the end (RFC 7845, section 4.4). Returns the whole stream.
   */
  end(lastPacket: Uint8Array, granule: bigint): Buffer {
    if (this.ended) throw new Error('OggPageWriter: the stream has already ended');
    this.pending.push({ data: lastPacket, granule });
    this.emitPages(true);
    this.ended = true;
    return Buffer.concat(this.pages);
  }

  private emitPages(endOfStream: boolean): void {
    // Lay packets out as lacing values, splitting a packet across pages when 255 values do not suffice.
    let lacing: number[] = [];
    let bodies: Uint8Array[] = [];
    let granule = NO_GRANULE;
    let startsContinued = false;
    const close = (isLast: boolean) => {
      const flags = (startsContinued ? FLAG_CONTINUED : 0) | (this.pageSequence === 0 ? FLAG_BOS : 0) | (isLast && endOfStream ? FLAG_EOS : 0);
      this.pages.push(this.page(flags, granule, lacing, bodies));
      lacing = [];
      bodies = [];
      granule = NO_GRANULE;
    };
    for (const packet of this.pending) {
      let offset = 0;
      for (;;) {
        if (lacing.length === MAX_SEGMENTS_PER_PAGE) {
          close(false);
          startsContinued = offset > 0;
        }
        const value = Math.min(255, packet.data.length - offset);
        lacing.push(value);
        bodies.push(packet.data.subarray(offset, offset + value));
        offset += value;
        if (value < 255) break;
      }
      granule = packet.granule;
    }
    close(true);
    this.pending = [];
  }

  private page(flags: number, granule: bigint, lacing: number[], bodies: Uint8Array[]): Uint8Array {
    const bodyLength = bodies.reduce((n, b) => n + b.length, 0);
    const page = Buffer.alloc(HEADER_BYTES + lacing.length + bodyLength);
    page.write('OggS', 0, 'latin1');
    page[4] = 0; // stream structure version
    page[5] = flags;
    page.writeBigInt64LE(granule, 6);
    page.writeUInt32LE(this.serial >>> 0, 14);
    page.writeUInt32LE(this.pageSequence++, 18);
    page[26] = lacing.length;
    page.set(lacing, HEADER_BYTES);
    let offset = HEADER_BYTES + lacing.length;
    for (const body of bodies) {
      page.set(body, offset);
      offset += body.length;
    }
    page.writeUInt32LE(oggCrc(page), 22); // the CRC field is zero while the CRC is computed
    return page;
  }
}

function lacingCount(packets: PendingPacket[]): number {
  return packets.reduce((n, p) => n + Math.floor(p.data.length / 255) + 1, 0);
}
