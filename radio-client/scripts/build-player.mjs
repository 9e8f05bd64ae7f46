// Bundles <radio-player> into one minified, content-hashed ES module plus its gzip, and writes
// player-asset.json naming it, which the app's entries read at startup (Node and Deno alike).
import { build } from 'esbuild';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const workspace = fileURLToPath(new URL('..', import.meta.url));

/** Name of the file that tells the app which hashed bundle to serve. */
export const PLAYER_ASSET_INDEX = 'player-asset.json';

/** Builds the player into `outdir` (default dist/assets); returns the hashed file name and sizes. */
export async function buildPlayer(outdir = join(workspace, 'dist', 'assets')) {
  await mkdir(outdir, { recursive: true });
  // Old hashed bundles would pile up with every build.
  for (const name of await readdir(outdir)) {
    if (name.startsWith('radio-player.') || name === PLAYER_ASSET_INDEX) await rm(join(outdir, name));
  }
  const result = await build({
    entryPoints: { 'radio-player': join(workspace, 'src', 'player', 'index.ts') },
    entryNames: '[name].[hash]',
    outdir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  const [output] = result.outputFiles;
  const fileName = basename(output.path);
  const gzipped = gzipSync(output.contents, { level: 9 });
  await writeFile(output.path, output.contents);
  await writeFile(`${output.path}.gz`, gzipped);
  await writeFile(join(outdir, PLAYER_ASSET_INDEX), `${JSON.stringify({ fileName }, null, 2)}\n`);
  return { fileName, bytes: output.contents.length, gzipBytes: gzipped.length };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { fileName, bytes, gzipBytes } = await buildPlayer();
  console.log(`radio-client: dist/assets/${fileName} (${(bytes / 1024).toFixed(1)} KB, ${(gzipBytes / 1024).toFixed(1)} KB gzipped)`);
}
