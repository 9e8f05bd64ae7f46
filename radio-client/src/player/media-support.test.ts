import { describe, expect, it } from 'vitest';
import { mseEngine, playableTypes } from './media-support.ts';

/** A MediaSource constructor stand-in that supports exactly `types`. */
function fakeSource(types: string[]): typeof MediaSource {
  return class {
    static isTypeSupported(type: string) {
      return types.includes(type);
    }
  } as unknown as typeof MediaSource;
}

describe(playableTypes.name, () => {
  it("takes the protocol's spelling first, the lower-case one when only that is known", () => {
    expect(playableTypes((t) => t.includes('fLaC') || t.includes('opus'))).toEqual({ hq: 'audio/mp4; codecs="fLaC"', lq: 'audio/mp4; codecs="opus"' });
  });
  it('leaves out a stream the browser cannot play', () => {
    expect(playableTypes((t) => t.includes('Opus'))).toEqual({ lq: 'audio/mp4; codecs="Opus"' });
  });
});

describe(mseEngine.name, () => {
  it('prefers ManagedMediaSource where it exists', () => {
    const engine = mseEngine({ ManagedMediaSource: fakeSource(['audio/mp4; codecs="Opus"']), MediaSource: fakeSource([]) });
    expect(engine).toMatchObject({ managed: true, types: { lq: 'audio/mp4; codecs="Opus"' } });
  });
  it('uses MediaSource otherwise', () => {
    expect(mseEngine({ MediaSource: fakeSource(['audio/mp4; codecs="flac"', 'audio/mp4; codecs="opus"']) })).toMatchObject({ managed: false, types: { hq: 'audio/mp4; codecs="flac"', lq: 'audio/mp4; codecs="opus"' } });
  });
  it('is undefined without MSE, or when MSE plays neither stream (the element takes the HLS playlist then)', () => {
    expect(mseEngine({})).toBeUndefined();
    expect(mseEngine({ MediaSource: fakeSource(['audio/mp4; codecs="mp4a.40.2"']) })).toBeUndefined();
  });
});
