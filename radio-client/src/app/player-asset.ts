import { readFile } from 'node:fs/promises';
import { StartupError } from './startup-error.ts';

/** The built player bundle: its content-hashed name, its bytes and their gzip. */
export interface PlayerAsset {
  fileName: string;
  source: Uint8Array<ArrayBuffer>;
  gzipped: Uint8Array<ArrayBuffer>;
}

/** Written by scripts/build-player.mjs beside the bundle. */
const ASSET_INDEX = 'player-asset.json';

/**
 * Reads the bundle `npm run build` left in `assetsDir` (node:fs, which Deno provides too), once at
 * startup. Throws a {@link StartupError} when the build has not run.
 */
export async function loadPlayerAsset(assetsDir: URL): Promise<PlayerAsset> {
  let index: { fileName?: unknown };
  try {
    index = JSON.parse(await readFile(new URL(ASSET_INDEX, assetsDir), 'utf8')) as { fileName?: unknown };
  } catch {
    throw new StartupError(`the player bundle is missing from ${assetsDir.pathname}: run \`npm run build -w radio-client\` first`);
  }
  if (typeof index.fileName !== 'string' || !/^radio-player\.[\w-]+\.js$/.test(index.fileName)) {
    throw new StartupError(`${ASSET_INDEX} in ${assetsDir.pathname} does not name a player bundle: run \`npm run build -w radio-client\` again`);
  }
  const [source, gzipped] = await Promise.all([index.fileName, `${index.fileName}.gz`].map(async (name) => new Uint8Array(await readFile(new URL(name, assetsDir)))));
  return { fileName: index.fileName, source: source!, gzipped: gzipped! };
}
