import type { Hono } from 'hono';
import { createApp } from './create-app.ts';
import { loadPlayerAsset } from './player-asset.ts';
import { readConfig, type ClientConfig } from './read-config.ts';

/**
 * What both entries do before listening: read the environment, load the built player bundle from
 * `assetsDir`, create the app. Throws a StartupError (one sentence) for an operator's mistake.
 */
export async function prepareApp(env: Record<string, string | undefined>, assetsDir: URL): Promise<{ app: Hono; config: ClientConfig }> {
  const config = readConfig(env);
  const player = await loadPlayerAsset(assetsDir);
  return { app: createApp({ stationName: config.stationName, r2PublicUrl: config.r2PublicUrl, player }), config };
}
