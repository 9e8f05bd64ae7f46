import { describe, expect, it } from 'vitest';
import { createApp } from './create-app.ts';
import { ConfigError, readConfig } from './read-config.ts';

const player = { fileName: 'radio-player.ABC123.js', source: new Uint8Array(), gzipped: new Uint8Array() };

/** The CSP the app sends for this environment, as directive name -> sources. */
async function cspFor(env: Record<string, string>): Promise<Map<string, string>> {
  const config = readConfig(env);
  const response = await createApp({ stationName: config.stationName, r2PublicUrl: config.r2PublicUrl, player }).request('/');
  const csp = response.headers.get('Content-Security-Policy') ?? '';
  return new Map(csp.split('; ').map((d) => [d.split(' ')[0]!, d.slice(d.indexOf(' ') + 1)]));
}

const CHARS = 'R2_PUBLIC_URL must not contain spaces, quotes, ";" or ",": give the public URL of the bucket alone, e.g. https://pub-1234.r2.dev';

describe(readConfig.name, () => {
  it('reads the settings and applies the defaults', () => {
    expect(readConfig({ R2_PUBLIC_URL: 'https://pub-1234.r2.dev/radio/' })).toEqual({
      r2PublicUrl: 'https://pub-1234.r2.dev/radio',
      stationName: 'Community Radio',
      port: 8080,
      host: undefined,
    });
    expect(readConfig({ R2_PUBLIC_URL: 'http://127.0.0.1:4568/b', STATION_NAME: ' KXYZ ', PORT: '0', HOST: '127.0.0.1' })).toEqual({
      r2PublicUrl: 'http://127.0.0.1:4568/b',
      stationName: 'KXYZ',
      port: 0,
      host: '127.0.0.1',
    });
  });

  it.each([
    [{}, 'R2_PUBLIC_URL is not set: give the public URL of the bucket, e.g. https://pub-1234.r2.dev'],
    [{ R2_PUBLIC_URL: 'pub-1234.r2.dev' }, 'R2_PUBLIC_URL must be the public http(s) URL of the bucket, e.g. https://pub-1234.r2.dev'],
    [{ R2_PUBLIC_URL: 'ftp://pub-1234.r2.dev' }, 'R2_PUBLIC_URL must be the public http(s) URL of the bucket, e.g. https://pub-1234.r2.dev'],
    [{ R2_PUBLIC_URL: 'https://pub-1234.r2.dev;script-src *' }, CHARS],
    [{ R2_PUBLIC_URL: 'https://pub-1234.r2.dev;report-uri' }, CHARS],
    [{ R2_PUBLIC_URL: 'https://a.r2.dev,https://b.r2.dev' }, CHARS],
    [{ R2_PUBLIC_URL: 'https://pub-1234.r2.dev \'unsafe-eval\'' }, CHARS],
    [{ R2_PUBLIC_URL: 'https://pub-1234.r2.dev/"' }, CHARS],
    [{ R2_PUBLIC_URL: 'https://pub-1234.r2.dev\n' }, CHARS],
    [{ R2_PUBLIC_URL: 'https://reader:s3cret@pub-1234.r2.dev' }, 'R2_PUBLIC_URL must not carry a user name or password (listeners read the bucket without them): give the public URL of the bucket alone, e.g. https://pub-1234.r2.dev'],
    [{ R2_PUBLIC_URL: 'https://pub-1234.r2.dev/radio?x=1' }, 'R2_PUBLIC_URL must not have a query (?...): give the public URL of the bucket alone, e.g. https://pub-1234.r2.dev'],
    [{ R2_PUBLIC_URL: 'https://pub-1234.r2.dev/radio#top' }, 'R2_PUBLIC_URL must not have a fragment (#...): give the public URL of the bucket alone, e.g. https://pub-1234.r2.dev'],
    [{ R2_PUBLIC_URL: 'https://r2.dev', PORT: '80a' }, 'PORT must be a port number from 0 to 65535 (got "80a")'],
    [{ R2_PUBLIC_URL: 'https://r2.dev', PORT: '65536' }, 'PORT must be a port number from 0 to 65535 (got "65536")'],
    [{ R2_PUBLIC_URL: 'https://r2.dev', STATION_NAME: '  ' }, 'STATION_NAME is empty: leave it unset or give the name'],
  ])('refuses %j in one sentence', (env, message) => {
    expect(() => readConfig(env)).toThrow(new ConfigError(message));
  });

  it('never repeats the value of R2_PUBLIC_URL: it may carry credentials', () => {
    expect(() => readConfig({ R2_PUBLIC_URL: 'https://reader:s3cret@pub-1234.r2.dev;x' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cret') }));
  });

  it('puts exactly the origin of R2_PUBLIC_URL into the CSP, and a ";" cannot add a directive', async () => {
    const csp = await cspFor({ R2_PUBLIC_URL: 'https://Pub-1234.R2.dev:443/radio/' });
    expect(csp.get('connect-src')).toBe('https://pub-1234.r2.dev');
    expect(csp.get('media-src')).toBe('https://pub-1234.r2.dev blob:');
    expect([...csp.keys()]).toEqual(['default-src', 'script-src', 'style-src', 'img-src', 'connect-src', 'media-src', 'base-uri', 'form-action', 'frame-ancestors']);
    await expect(cspFor({ R2_PUBLIC_URL: "https://pub-1234.r2.dev;script-src 'unsafe-inline'" })).rejects.toThrow(new ConfigError(CHARS));
  });
});
