import { describe, expect, it } from 'vitest';
import { parseManifest, parseManifestText, type Manifest } from './manifest.js';
import { initKey, playlistKey, prefixedKey, runOfInitKey, segmentKey, seqOfSegmentKey } from './keys.js';

function entry(seq: number, stream: 'hq' | 'lq', run = 1030, samples = 480000) {
  return {
    seq, msn: seq + 4162, uri: segmentKey(stream, seq), init: initKey(stream, run), samples,
    startedAt: '2026-12-01T22:59:40.000Z', bytes: 1000, discontinuity: seq === run,
  };
}

function manifest(seqs = [1041, 1042, 1043]): Manifest {
  return {
    version: 2, station: 'KXYZ Community Radio', live: true, updatedAt: '2026-12-01T23:00:10.012Z',
    segmentSeconds: 10, sampleRate: 48000, channels: 2, hls: 'live.m3u8',
    streams: {
      hq: { codec: 'flac', mimeType: 'audio/mp4; codecs="fLaC"', bitsPerSample: 24, playlist: 'hq/playlist.m3u8', segments: seqs.map((s) => entry(s, 'hq')) },
      lq: { codec: 'opus', mimeType: 'audio/mp4; codecs="Opus"', bitrate: 128000, playlist: 'lq/playlist.m3u8', segments: seqs.map((s) => entry(s, 'lq')) },
    },
  };
}

describe('object keys', () => {
  it('zero-pads seqs to 10 digits: fragments, inits, playlists', () => {
    expect(segmentKey('hq', 1041)).toBe('hq/0000001041.m4s');
    expect(segmentKey('lq', 0)).toBe('lq/0000000000.m4s');
    expect(initKey('lq', 1030)).toBe('lq/init-0000001030.mp4');
    expect(playlistKey('hq')).toBe('hq/playlist.m3u8');
  });
  it('reads seqs back from keys, and nothing from other keys', () => {
    expect(seqOfSegmentKey('lq/0000001041.m4s')).toEqual({ stream: 'lq', seq: 1041 });
    expect(seqOfSegmentKey('lq/0000001041.opus')).toBeUndefined();
    expect(runOfInitKey('hq/init-0000001030.mp4')).toEqual({ stream: 'hq', run: 1030 });
    expect(runOfInitKey('hq/init.mp4')).toBeUndefined();
  });
  it('refuses a seq that does not fit the key', () => {
    expect(() => segmentKey('hq', -1)).toThrow(/seq must be an integer/);
    expect(() => initKey('hq', 1.5)).toThrow(/seq must be an integer/);
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
    expect(parseManifest({ ...manifest(), version: 1 })).toEqual({ ok: false, error: 'manifest version 1 is not supported (this build reads version 2)' });
  });
  it('names the path of a missing field', () => {
    const broken = manifest() as unknown as { streams: { lq: Record<string, unknown> } };
    delete broken.streams.lq.bitrate;
    const result = parseManifest(broken);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/^invalid manifest: streams\.lq\.bitrate: /);
  });
  it('refuses streams that list different segments', () => {
    const m = manifest();
    m.streams.lq.segments.pop();
    expect(parseManifest(m)).toMatchObject({ ok: false, error: expect.stringContaining('streams.hq and streams.lq must list the same segments') });
    const n = manifest();
    n.streams.lq.segments[1]!.msn++;
    expect(parseManifest(n)).toMatchObject({ ok: false, error: expect.stringContaining('must list the same segments') });
  });
  it('refuses seqs that do not strictly increase', () => {
    expect(parseManifest(manifest([1045, 1045]))).toMatchObject({ ok: false, error: expect.stringContaining('seq must strictly increase (1045 then 1045)') });
  });
  it('refuses media sequence numbers that are not consecutive, also across a seq gap', () => {
    const m = manifest([1041, 1044]);
    for (const s of ['hq', 'lq'] as const) m.streams[s].segments[1]!.discontinuity = true;
    expect(parseManifest(m)).toMatchObject({ ok: false, error: expect.stringContaining('has msn 5206, expected 5204') });
    for (const s of ['hq', 'lq'] as const) m.streams[s].segments[1]!.msn = 5204;
    expect(parseManifest(m).ok).toBe(true);
  });
  it('refuses a uri or an init that is not the key of its seq and run', () => {
    const m = manifest();
    m.streams.hq.segments[0]!.uri = 'hq/1041.m4s';
    expect(parseManifest(m)).toMatchObject({ ok: false, error: expect.stringContaining('expected "hq/0000001041.m4s"') });
    const n = manifest();
    n.streams.lq.segments[0]!.init = initKey('lq', 1042);
    expect(parseManifest(n)).toMatchObject({ ok: false, error: expect.stringContaining('has init "lq/init-0000001042.mp4"') });
  });
  it('refuses a new run that is not a discontinuity', () => {
    const m = manifest();
    for (const s of ['hq', 'lq'] as const) m.streams[s].segments[2]!.init = initKey(s, 1043);
    expect(parseManifest(m)).toMatchObject({ ok: false, error: expect.stringContaining('starts a new run (hq/init-0000001043.mp4) but is not marked as a discontinuity') });
  });
  it('refuses a segment longer than segmentSeconds', () => {
    const m = manifest([1041]);
    for (const s of ['hq', 'lq'] as const) m.streams[s].segments[0]!.samples = 480001;
    expect(parseManifest(m)).toMatchObject({ ok: false, error: expect.stringContaining('more than segmentSeconds * sampleRate') });
  });
  it('refuses another playlist or hls key', () => {
    expect(parseManifest({ ...manifest(), hls: 'index.m3u8' })).toMatchObject({ ok: false, error: expect.stringMatching(/^invalid manifest: hls: /) });
  });
});

describe(parseManifestText.name, () => {
  it('says when the body is not JSON', () => {
    expect(parseManifestText('<html>')).toEqual({ ok: false, error: 'invalid manifest: the body is not JSON' });
  });
});
