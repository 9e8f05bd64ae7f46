import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import { PAGE_STYLE } from './page-style.ts';

/** What every page needs to know about the station and the player. */
export interface PageProps {
  stationName: string;
  manifestUrl: string;
  /** The station's HLS playlist (`live.m3u8`), for listeners' own players. */
  hlsUrl: string;
  /** Path of the hashed player bundle, e.g. `/assets/radio-player.X7CZFODM.js`. */
  playerScript: string;
}

/** The player element with a fallback that is readable before (or without) its script. */
export function Player({ stationName, manifestUrl }: PageProps) {
  return (
    <radio-player src={manifestUrl} station-name={stationName}>
      <p>Listening to {stationName} needs JavaScript: please turn it on to hear the live stream.</p>
    </radio-player>
  );
}

/** The document around a page: no external resources but the player's own script. */
export function Layout({ title, playerScript, bodyClass, children }: { title: string; playerScript: string; bodyClass?: string; children: Child }) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{title}</title>
          <link rel="icon" href="data:," />
          <style dangerouslySetInnerHTML={{ __html: PAGE_STYLE }} />
          <script type="module" src={playerScript}></script>
        </head>
        <body class={bodyClass}>{children}</body>
      </html>
    </>
  );
}
