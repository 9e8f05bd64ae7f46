import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './read-config.ts';

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
    [{ R2_PUBLIC_URL: 'pub-1234.r2.dev' }, 'R2_PUBLIC_URL must be the public http(s) URL of the bucket, e.g. https://pub-1234.r2.dev (got "pub-1234.r2.dev")'],
    [{ R2_PUBLIC_URL: 'ftp://pub-1234.r2.dev' }, 'R2_PUBLIC_URL must be the public http(s) URL of the bucket, e.g. https://pub-1234.r2.dev (got "ftp://pub-1234.r2.dev")'],
    [{ R2_PUBLIC_URL: 'https://r2.dev', PORT: '80a' }, 'PORT must be a port number from 0 to 65535 (got "80a")'],
    [{ R2_PUBLIC_URL: 'https://r2.dev', PORT: '65536' }, 'PORT must be a port number from 0 to 65535 (got "65536")'],
    [{ R2_PUBLIC_URL: 'https://r2.dev', STATION_NAME: '  ' }, 'STATION_NAME is empty: leave it unset or give the name'],
  ])('refuses %j in one sentence', (env, message) => {
    expect(() => readConfig(env)).toThrow(new ConfigError(message));
  });
});
