import { describe, expect, it } from 'vitest';
import { cmafProblem, topLevelBoxes } from './mp4-boxes.ts';

function box(type: string, payload = 0): Uint8Array {
  const bytes = new Uint8Array(8 + payload);
  new DataView(bytes.buffer).setUint32(0, bytes.length);
  bytes.set([...type].map((c) => c.charCodeAt(0)), 4);
  return bytes;
}

function concat(...parts: Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out.buffer;
}

describe(topLevelBoxes.name, () => {
  it('lists the boxes when their sizes cover the bytes exactly', () => {
    expect(topLevelBoxes(concat(box('styp', 12), box('moof', 100), box('mdat', 1000)))).toEqual({ types: ['styp', 'moof', 'mdat'] });
  });
  it('reads a 64-bit size', () => {
    const large = box('mdat', 8 + 20);
    const view = new DataView(large.buffer);
    view.setUint32(0, 1);
    view.setBigUint64(8, BigInt(large.length));
    expect(topLevelBoxes(concat(box('moof', 4), large))).toEqual({ types: ['moof', 'mdat'] });
  });
  it('refuses a truncated box, stray bytes and text', () => {
    expect(topLevelBoxes(concat(box('moof', 100)).slice(0, 50))).toEqual({ error: 'the moof box at byte 0 does not fit (108 bytes, 50 left)' });
    expect(topLevelBoxes(concat(box('moof'), new Uint8Array(3)))).toEqual({ error: '3 stray bytes at the end' });
    expect(topLevelBoxes(new TextEncoder().encode('not audio not audio ').buffer)).toMatchObject({ error: expect.stringMatching(/does not fit/) });
    expect(topLevelBoxes(new Uint8Array([0, 0, 0, 16, 0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0]).buffer)).toEqual({ error: 'no box at byte 0' });
  });
});

describe(cmafProblem.name, () => {
  it('accepts a fragment and an init', () => {
    expect(cmafProblem(concat(box('styp'), box('moof'), box('mdat')), 'fragment')).toBeUndefined();
    expect(cmafProblem(concat(box('ftyp'), box('moov')), 'init')).toBeUndefined();
  });
  it('names what is missing', () => {
    expect(cmafProblem(concat(box('ftyp'), box('moov')), 'fragment')).toBe('no moof or mdat box in ftyp, moov');
    expect(cmafProblem(new ArrayBuffer(0), 'init')).toBe('no ftyp or moov box in nothing');
  });
});
