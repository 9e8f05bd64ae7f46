import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createApp } from './create-app.ts';

const SCRIPT = new TextEncoder().encode('customElements.define("radio-player", class extends HTMLElement {});');
const FILE = 'radio-player.ABC123.js';

function app() {
  return createApp({
    stationName: 'KXYZ <Community> Radio',
    r2PublicUrl: 'https://pub-1234.r2.dev/radio',
    player: { fileName: FILE, source: SCRIPT, gzipped: new Uint8Array(gzipSync(SCRIPT)) },
  });
}

describe(createApp.name, () => {
  it('serves the station page: the name, the player pointed at the manifest, the hashed script', async () => {
    const response = await app().request('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('text/html; charset=UTF-8');
    expect(response.headers.get('Cache-Control')).toBe('no-cache');
    const body = await response.text();
    expect(body).toMatch(/^<!doctype html><html lang="en">/);
    expect(body).toContain('<h1>KXYZ &lt;Community&gt; Radio</h1>');
    expect(body).toContain('<radio-player src="https://pub-1234.r2.dev/radio/manifest.json" station-name="KXYZ &lt;Community&gt; Radio">');
    expect(body).toContain(`<script type="module" src="/assets/${FILE}"></script>`);
    // Readable without JavaScript: the fallback inside the element says what to do.
    expect(body).toContain('needs JavaScript');
  });

  it("links the station's HLS playlist for listeners' own apps, under the page's CSP", async () => {
    const response = await app().request('/');
    const body = await response.text();
    expect(body).toContain('<a href="https://pub-1234.r2.dev/radio/live.m3u8" type="application/vnd.apple.mpegurl">Listen in VLC or your radio app</a>');
    // A plain link: navigation is not a fetch the CSP limits, and it needs no inline style or script.
    expect(body).not.toMatch(/ style=| on\w+=/);
    const styles = [...body.matchAll(/<style>([^<]*)<\/style>/g)].map((m) => m[1]!);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]!).digest('base64');
    expect(response.headers.get('Content-Security-Policy')).toContain(`'sha256-${hash}'`);
    // The embed is only the player.
    expect(await (await app().request('/embed')).text()).not.toContain('live.m3u8');
  });

  it('sends a CSP limiting scripts to self and network to the bucket origin, and forbids framing /', async () => {
    const response = await app().request('/');
    const csp = response.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain('connect-src https://pub-1234.r2.dev;');
    expect(csp).toContain('media-src https://pub-1234.r2.dev blob:;');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('X-Frame-Options')).toBe('DENY');
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(response.headers.get('Referrer-Policy')).toBe('no-referrer');
  });

  it('serves a framable embed page with just the player', async () => {
    const response = await app().request('/embed');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Security-Policy')).toContain('frame-ancestors *');
    expect(response.headers.has('X-Frame-Options')).toBe(false);
    const body = await response.text();
    expect(body).toContain('<radio-player src="https://pub-1234.r2.dev/radio/manifest.json"');
    expect(body).not.toContain('<h1>');
  });

  it('serves the player bundle with immutable caching, gzipped when the browser accepts it', async () => {
    const plain = await app().request(`/assets/${FILE}`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('Content-Type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(new Uint8Array(await plain.arrayBuffer())).toEqual(SCRIPT);
    const gzipped = await app().request(`/assets/${FILE}`, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    expect(gzipped.headers.get('Content-Encoding')).toBe('gzip');
    expect(gzipped.headers.get('Vary')).toBe('Accept-Encoding');
    expect(new Uint8Array(gunzipSync(new Uint8Array(await gzipped.arrayBuffer())))).toEqual(SCRIPT);
  });

  it('answers the health check', async () => {
    const response = await app().request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok\n');
  });

  it.each(['/nope', '/assets/radio-player.OLDHASH.js', '/assets/', '/embed/x'])('answers 404 for %s, with the security headers', async (path) => {
    const response = await app().request(path);
    expect(response.status).toBe(404);
    expect(response.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
  });

  it('answers HEAD like GET, without a body', async () => {
    const response = await app().request('/healthz', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });
});
