import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser } from 'playwright-core';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app/create-app.ts';
import { loadPlayerAsset } from '../../src/app/player-asset.ts';
import { buildPlayer } from '../../scripts/build-player.mjs';

/** Headless Debian Chromium with the project's flags (autoplay allowed, nothing phoning home). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
}

/** The app with a player bundle built now from the sources, on @hono/node-server at 127.0.0.1:<ephemeral>. */
export async function serveApp(assetsDir: string, r2PublicUrl: string, stationName = 'Loopback FM'): Promise<{ url: string; close(): Promise<void> }> {
  await buildPlayer(assetsDir);
  const player = await loadPlayerAsset(pathToFileURL(`${assetsDir}/`));
  const app = createApp({ stationName, r2PublicUrl, player });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
