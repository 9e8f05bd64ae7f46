import { describe, expect, it } from 'vitest';
import { parseManifest, parseManifestText, type Manifest } from './manifest.js';
import { prefixedKey, segmentKey } from './keys.js';

function entry(seq: number, stream: 'hq' | 'lq', samples = 480000) {
  return { seq, uri: segmentKey(stream, seq), samples, startedAt: '2026-11-23T22:59:40.000Z', bytes: 1000, discontinuity: false };
}

function manifest(seqs = [1041, 1042, 1043]): Manifest {
  return {
    version: 1, station: 'KXYZ Community Radio', live: true, updatedAt: '2026-11-23T23:00:10.012Z',
    segmentSeconds: 10, sampleRate: 48000, channels: 2,
    streams: {
      hq: { codec: 'flac', mimeType: 'audio/flac', bitsPerSample: 24, segments: seqs.map((s) => entry(s, 'hq')) },
      lq: { codec: 'opus', mimeType: 'audio/ogg; codecs=opus', bitrate: 128000, segments: seqs.map((s) => entry(s, 'lq')) },
    },
  };
}

describe(segmentKey.name, () => {
  it('zero-pads the seq to 10 digits with the stream extension', () => {
    expect(segmentKey('hq', 1041)).toBe('hq/0000001041.flac');
    expect(segmentKey('lq', 0)).toBe('lq/0000000000.opus');
  });
  it('refuses a seq that does not fit the key', () => {
    expect(() => segmentKey('hq', -1)).toThrow(/seq must be an integer/);
    expect(() => segmentKey('hq', 1.5)).toThrow(/seq must be an integer/);
  });
});

describe(prefixedKey.name, () => {
  it('joins with exactly one slash and leaves an empty prefix out', () => {
    expect(prefixedKey('', 'manifest.json')).toBe('manifest.json');
    expect(prefixedKey('/radio/', 'manifest.json')).toBe('radio/manifest.json');
  });
});

describe(parseManifest.name, () => {
  it('accepts the example of the protocol document', () => {
    const result = parseManifest(manifest());
    expect(result).toEqual({ ok: true, manifest: manifest() });
  });
  it('names a wrong version in one sentence', () => {
    expect(parseManifest({ ...manifest(), version: 2 })).toEqual({ ok: false, error: 'manifest version 2 is not supported (this build reads version 1)' });
  });
  it('names the path of a missing field', () => {
    const broken = manifest() as unknown as { streams: { lq: Record<string, unknown> } };
    delete broken.streams.lq.bitrate;
    const result = parseManifest(broken);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/^invalid manifest: streams\.lq\.bitrate: /);
  });
  it('refuses streams that list different seqs', () => {
    const m = manifest();
    m.streams.lq.segments.pop();
    expect(parseManifest(m)).toEqual({ ok: false, error: 'invalid manifest: streams.hq and streams.lq must list the same seqs' });
  });
  it('refuses seqs that do not strictly increase', () => {
    expect(parseManifest(manifest([5, 5]))).toMatchObject({ ok: false, error: expect.stringContaining('seq must strictly increase (5 then 5)') });
  });
  it('refuses a uri that is not the key of its seq', () => {
    const m = manifest();
    m.streams.hq.segments[0]!.uri = 'hq/1041.flac';
    expect(parseManifest(m)).toMatchObject({ ok: false, error: expect.stringContaining('expected "hq/0000001041.flac"') });
  });
  it('refuses a segment longer than segmentSeconds', () => {
    const m = manifest([1]);
    m.streams.hq.segments[0]!.samples = 480001;
    expect(parseManifest(m)).toMatchObject({ ok: false, error: expect.stringContaining('more than segmentSeconds * sampleRate') });
  });
});

describe(parseManifestText.name, () => {
  it('says when the body is not JSON', () => {
    expect(parseManifestText('<html>')).toEqual({ ok: false, error: 'invalid manifest: the body is not JSON' });
  });
});
