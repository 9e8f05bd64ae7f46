import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { buildPlayer } from '../../scripts/build-player.mjs';
import { createApp } from '../../src/app/create-app.ts';
import { loadPlayerAsset } from '../../src/app/player-asset.ts';

/** The browsers the e2e tests drive, both through puppeteer-core: Chromium over CDP, Firefox ESR over WebDriver BiDi. */
export type BrowserKind = 'chromium' | 'firefox';

export const BROWSER_NAMES: Record<BrowserKind, string> = { chromium: 'Chromium', firefox: 'Firefox ESR' };

/** How a test browser starts. */
export interface LaunchOptions {
  /** The sound server to play into (a PulseAudio null sink): Firefox's media element fails without one. */
  env: Record<string, string>;
  /** Let pages start sound without a user gesture (default); false keeps the browser's real autoplay policy. */
  autoplay?: boolean;
}

const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/**
 * Headless Debian Chromium or Firefox ESR, playing into `env`'s sound server. Puppeteer mutes Chromium
 * by default; here it is heard (the null sink's monitor records what it sends).
 */
export function launchBrowser(kind: BrowserKind, { env, autoplay = true }: LaunchOptions): Promise<Browser> {
  const environment = { ...process.env, ...env };
  if (kind === 'firefox') {
    return puppeteer.launch({
      browser: 'firefox',
      executablePath: '/usr/bin/firefox-esr',
      headless: true,
      env: environment,
      // 0 allows audible autoplay, 1 blocks it (Firefox's default for sites the user has not interacted with).
      extraPrefsFirefox: { 'media.autoplay.default': autoplay ? 0 : 1, 'media.autoplay.blocking_policy': 0 },
    });
  }
  return puppeteer.launch({
    browser: 'chrome',
    executablePath: '/usr/bin/chromium',
    headless: true,
    env: environment,
    ignoreDefaultArgs: ['--mute-audio'],
    args: [...CHROMIUM_FLAGS, `--autoplay-policy=${autoplay ? 'no-user-gesture-required' : 'document-user-activation-required'}`],
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
