import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { securityHeaders } from './security-headers.ts';

function app() {
  const hono = new Hono();
  hono.use(securityHeaders({ storageOrigin: 'https://pub-1234.r2.dev', inlineStyles: ['body{margin:0}'], framablePaths: ['/embed'] }));
  hono.get('/', (c) => c.text('page'));
  hono.get('/embed', (c) => c.text('embed'));
  return hono;
}

function directives(response: Response): Map<string, string> {
  const csp = response.headers.get('Content-Security-Policy') ?? '';
  return new Map(csp.split('; ').map((d) => [d.split(' ')[0]!, d.slice(d.indexOf(' ') + 1)]));
}

describe(securityHeaders.name, () => {
  it("allows scripts from self, network to the storage origin only, media from it and the player's MediaSource", async () => {
    const csp = directives(await app().request('/'));
    expect(csp.get('default-src')).toBe("'none'");
    expect(csp.get('script-src')).toBe("'self'");
    expect(csp.get('connect-src')).toBe('https://pub-1234.r2.dev');
    expect(csp.get('media-src')).toBe('https://pub-1234.r2.dev blob:');
  });

  it('allows exactly the given inline style, by its hash', async () => {
    const hash = createHash('sha256').update('body{margin:0}').digest('base64');
    expect(directives(await app().request('/')).get('style-src')).toBe(`'self' 'sha256-${hash}'`);
  });

  it('refuses framing by default and allows it on the framable paths', async () => {
    const page = await app().request('/');
    expect(directives(page).get('frame-ancestors')).toBe("'none'");
    expect(page.headers.get('X-Frame-Options')).toBe('DENY');
    const embed = await app().request('/embed');
    expect(directives(embed).get('frame-ancestors')).toBe('*');
    expect(embed.headers.has('X-Frame-Options')).toBe(false);
  });

  it('sets nosniff and no referrer, also on a 404', async () => {
    const response = await app().request('/nothing-here');
    expect(response.status).toBe(404);
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(response.headers.get('Referrer-Policy')).toBe('no-referrer');
    expect(directives(response).get('default-src')).toBe("'none'");
  });

  it.each(['https://pub-1234.r2.dev;script-src *', 'https://a.r2.dev,https://b.r2.dev', 'https://a.r2.dev https://b.r2.dev', 'https://pub-1234.r2.dev/radio', "'unsafe-inline'", 'ftp://pub-1234.r2.dev'])(
    'refuses a storage origin that is not exactly an http(s) origin (%j): it would add sources or directives',
    (storageOrigin) => {
      expect(() => securityHeaders({ storageOrigin })).toThrow(new TypeError('storageOrigin must be an http(s) origin alone, e.g. https://pub-1234.r2.dev'));
    },
  );
});
