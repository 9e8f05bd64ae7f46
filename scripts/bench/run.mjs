#!/usr/bin/env node
// `npm run bench`: runs every scripts/bench/*.bench.mjs in turn (they print their own figures).
// Benchmarks, not tests: they print measurements and ratios against native anchors, and never fail on speed.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(here).filter((f) => f.endsWith('.bench.mjs') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
let failed = 0;
for (const bench of benches) {
  console.log(`\n== ${bench}`);
  const { status } = spawnSync(process.execPath, [join(here, bench)], { stdio: 'inherit' });
  if (status !== 0) {
    failed++;
    console.log(`!! ${bench} exited with ${status}`);
  }
}
process.exit(failed ? 1 : 0);
