import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// Loads the binding, as the encoders do.
import './libopus.js';

/** The opus.node this process loaded, from its memory map. */
function loadedBinding(): string {
  const mapped = readFileSync('/proc/self/maps', 'utf8').split('\n').map((line) => line.split(/\s+/)[5] ?? '');
  const bindings = [...new Set(mapped.filter((path) => path.endsWith('/opus.node')))];
  expect(bindings).toHaveLength(1);
  return bindings[0]!;
}

describe('libopus', () => {
  // patches/@discordjs+opus+*.patch: @discordjs/opus builds only libopus's plain C on x64, 18 % slower.
  it.runIf(process.arch === 'x64')('is built with its SSE kernels for the float CELT encoder (the patch patch-package applies at install)', () => {
    const symbols = readFileSync(loadedBinding()).toString('latin1');
    for (const kernel of ['xcorr_kernel_sse', 'op_pvq_search_sse2', 'comb_filter_const_sse']) expect(symbols).toContain(kernel);
  });
});
