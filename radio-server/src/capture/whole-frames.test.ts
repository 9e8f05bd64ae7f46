import { describe, expect, it } from 'vitest';
import { wholeFrames } from './whole-frames.js';

async function* chunks(...sizes: number[]): AsyncGenerator<Buffer> {
  let next = 0;
  for (const size of sizes) yield Buffer.from(Array.from({ length: size }, () => next++ % 256));
}

describe(wholeFrames.name, () => {
  it('yields whole frames only, carrying a split frame into the next chunk, and keeps every byte in order', async () => {
    const out: Buffer[] = [];
    for await (const frames of wholeFrames(chunks(5, 1, 7, 2, 9), 6)) out.push(frames);
    expect(out.map((b) => b.length)).toEqual([6, 6, 12]);
    expect([...Buffer.concat(out)]).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });
});
