import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type opusModule from '@discordjs/opus';

const require = createRequire(import.meta.url);

/**
 * @discordjs/opus's native binding. Its own entry finds the binding through node-pre-gyp, whose loading
 * costs ~0.13 s of CPU per thread (a fifth of a short `encode`); the binding built for this Node and
 * platform is found here directly, with the package's entry as the fallback.
 */
function loadLibopus(): typeof opusModule {
  const root = dirname(require.resolve('@discordjs/opus/package.json'));
  const prefix = `node-v${process.versions.modules}-napi-v3-${process.platform}-${process.arch}-`;
  const builds = readdirSync(join(root, 'prebuild'), { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.startsWith(prefix));
  return builds.length === 1 ? (require(join(root, 'prebuild', builds[0]!.name, 'opus.node')) as typeof opusModule) : (require('@discordjs/opus') as typeof opusModule);
}

/** libopus's encoder class. */
export const { OpusEncoder } = loadLibopus();
export type OpusEncoder = InstanceType<typeof opusModule.OpusEncoder>;
