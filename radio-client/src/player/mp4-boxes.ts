/**
 * The top-level ISO BMFF boxes of `bytes` (`['styp', 'moof', 'mdat']`), or a sentence saying why they
 * are not a whole sequence of boxes. A SourceBuffer takes any bytes: a truncated download or an error
 * page parses as the start of a huge box, and every later append disappears into it without an error.
 */
export function topLevelBoxes(bytes: ArrayBuffer): { types: string[] } | { error: string } {
  const view = new DataView(bytes);
  const types: string[] = [];
  for (let offset = 0; offset < bytes.byteLength; ) {
    if (bytes.byteLength - offset < 8) return { error: `${bytes.byteLength - offset} stray bytes at the end` };
    let size = view.getUint32(offset);
    const type = String.fromCharCode(...new Uint8Array(bytes, offset + 4, 4));
    if (!/^[\x20-\x7e]{4}$/.test(type)) return { error: `no box at byte ${offset}` };
    if (size === 1 && bytes.byteLength - offset >= 16) size = Number(view.getBigUint64(offset + 8));
    if (size < 8 || offset + size > bytes.byteLength) return { error: `the ${type} box at byte ${offset} does not fit (${size} bytes, ${bytes.byteLength - offset} left)` };
    types.push(type);
    offset += size;
  }
  return { types };
}

/** Why `bytes` cannot be a CMAF fragment (it needs a moof and an mdat) or, with `init`, a CMAF header (ftyp and moov); undefined when they can. */
export function cmafProblem(bytes: ArrayBuffer, kind: 'init' | 'fragment'): string | undefined {
  const boxes = topLevelBoxes(bytes);
  if ('error' in boxes) return `not MP4 boxes: ${boxes.error}`;
  const needed = kind === 'init' ? ['ftyp', 'moov'] : ['moof', 'mdat'];
  const missing = needed.filter((type) => !boxes.types.includes(type));
  return missing.length ? `no ${missing.join(' or ')} box in ${boxes.types.join(', ') || 'nothing'}` : undefined;
}
