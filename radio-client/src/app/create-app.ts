import { MANIFEST_KEY, MULTIVARIANT_KEY } from '@radio/protocol';
import { Hono } from 'hono';
import { EmbedPage } from '../page/embed-page.tsx';
import type { PageProps } from '../page/layout.tsx';
import { PAGE_STYLE } from '../page/page-style.ts';
import { StationPage } from '../page/station-page.tsx';
import type { PlayerAsset } from './player-asset.ts';
import { securityHeaders } from './security-headers.ts';

/** What the app serves. */
export interface AppOptions {
  stationName: string;
  /** Public base URL of the bucket, without a trailing slash. */
  r2PublicUrl: string;
  player: PlayerAsset;
}

const ASSETS_PATH = '/assets/';

/**
 * The edge app: station page (with the HLS link for listeners' own apps), embed page, the player bundle and a health check, with security headers
 * on every response. Web Standard Request/Response only, and it never listens: the Node and Deno
 * entries wire it to a server, tests call `app.request()`.
 */
export function createApp({ stationName, r2PublicUrl, player }: AppOptions): Hono {
  const page: PageProps = {
    stationName,
    manifestUrl: `${r2PublicUrl}/${MANIFEST_KEY}`,
    hlsUrl: `${r2PublicUrl}/${MULTIVARIANT_KEY}`,
    playerScript: `${ASSETS_PATH}${player.fileName}`,
  };
  const app = new Hono();
  app.use(securityHeaders({ storageOrigin: new URL(r2PublicUrl).origin, inlineStyles: [PAGE_STYLE], framablePaths: ['/embed'] }));

  // The pages depend only on the options: rendered once, not per request (3x the requests/s).
  const stationHtml = StationPage(page).toString();
  const embedHtml = EmbedPage(page).toString();
  // The pages name the current bundle, so browsers must revalidate them; the bundle itself never changes.
  app.get('/', async (c) => c.html(await stationHtml, 200, { 'Cache-Control': 'no-cache' }));
  app.get('/embed', async (c) => c.html(await embedHtml, 200, { 'Cache-Control': 'no-cache' }));
  app.get(`${ASSETS_PATH}${player.fileName}`, (c) => {
    const gzip = /\bgzip\b/.test(c.req.header('Accept-Encoding') ?? '');
    return c.body(gzip ? player.gzipped : player.source, 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=31536000, immutable',
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
  });
  app.get('/healthz', (c) => c.text('ok\n', 200, { 'Cache-Control': 'no-store' }));
  app.notFound((c) => c.text('Not found\n', 404));
  return app;
}
