/** The identification and comment headers of an Ogg Opus stream (RFC 7845, section 5). */

/** Builds the OpusHead packet (channel mapping family 0: mono or stereo). */
export function opusHead(channels: number, preSkip: number, inputSampleRate: number): Buffer {
  if (preSkip > 0xffff) throw new RangeError(`pre-skip ${preSkip} does not fit 16 bits`);
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = channels;
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(inputSampleRate, 12);
  head.writeInt16LE(0, 16); // output gain
  head[18] = 0; // mapping family
  return head;
}

/** Builds the OpusTags packet with a vendor string and `KEY=value` comments. */
export function opusTags(vendor: string, comments: readonly string[]): Buffer {
  const parts = [Buffer.from('OpusTags', 'latin1'), lengthPrefixed(vendor), uint32(comments.length), ...comments.map(lengthPrefixed)];
  return Buffer.concat(parts);
}

function uint32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([uint32(bytes.length), bytes]);
}
