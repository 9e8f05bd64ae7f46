import { describe, expect, it } from 'vitest';
import type { Manifest } from '@radio/protocol';
import { chooseStream, hqBitrate, isQuality, ThroughputEstimator } from './abr.ts';

const HQ_BPS = 1_500_000;

describe(chooseStream.name, () => {
  it('obeys a fixed choice whatever the throughput', () => {
    expect(chooseStream('hq', 1, HQ_BPS)).toBe('hq');
    expect(chooseStream('lq', 1e12, HQ_BPS)).toBe('lq');
  });
  it('starts auto on LQ before anything was measured', () => {
    expect(chooseStream('auto', undefined, HQ_BPS)).toBe('lq');
    expect(chooseStream('auto', 1e9, undefined)).toBe('lq');
  });
  it('takes the only stream the browser can play, whatever was asked for', () => {
    expect(chooseStream('hq', 1e12, HQ_BPS, ['lq'])).toBe('lq');
    expect(chooseStream('auto', undefined, HQ_BPS, ['hq'])).toBe('hq');
  });
  it('takes HQ at 2x headroom and goes back to LQ below it', () => {
    expect(chooseStream('auto', 2 * HQ_BPS, HQ_BPS)).toBe('hq');
    expect(chooseStream('auto', 2 * HQ_BPS - 1, HQ_BPS)).toBe('lq');
  });
  it('takes HQ only when a segment of it downloads within the time the latency leaves', () => {
    // 10 s of HQ is 15 Mbit: 0.75 s at 20 Mbit/s.
    const budget = { segmentSeconds: 10, budgetSeconds: 0.75 };
    expect(chooseStream('auto', 20_000_000, HQ_BPS, ['hq', 'lq'], budget)).toBe('hq');
    expect(chooseStream('auto', 19_000_000, HQ_BPS, ['hq', 'lq'], budget)).toBe('lq');
    // 2 s of it is 3 Mbit: 4 Mbit/s do.
    expect(chooseStream('auto', 4_000_000, HQ_BPS, ['hq', 'lq'], { segmentSeconds: 2, budgetSeconds: 0.75 })).toBe('hq');
  });
});

describe(ThroughputEstimator.name, () => {
  it('has no estimate before a download and ignores empty or instant ones', () => {
    const estimator = new ThroughputEstimator();
    estimator.add(0, 1);
    estimator.add(1000, 0);
    expect(estimator.bitsPerSecond).toBeUndefined();
  });
  it('drops within a few slow segments, so auto falls back to LQ', () => {
    const estimator = new ThroughputEstimator();
    estimator.add(1_000_000, 0.1); // 80 Mbit/s
    expect(chooseStream('auto', estimator.bitsPerSecond, HQ_BPS)).toBe('hq');
    for (let i = 0; i < 8; i++) estimator.add(100_000, 1); // 0.8 Mbit/s
    expect(chooseStream('auto', estimator.bitsPerSecond, HQ_BPS)).toBe('lq');
    expect(estimator.bitsPerSecond).toBeLessThan(2 * HQ_BPS);
  });
});

describe(hqBitrate.name, () => {
  it('is the newest HQ segment size over its duration', () => {
    const segment = { seq: 1, msn: 1, uri: 'hq/0000000001.m4s', init: 'hq/init-0000000001.mp4', samples: 480000, startedAt: '2026-11-23T22:59:40.000Z', bytes: 1_875_000, discontinuity: false };
    const manifest = { sampleRate: 48000, streams: { hq: { segments: [{ ...segment, bytes: 1 }, segment] } } } as unknown as Manifest;
    expect(hqBitrate(manifest)).toBe(1_500_000);
  });
});

describe(isQuality.name, () => {
  it('accepts the three qualities only', () => {
    expect(['auto', 'hq', 'lq', 'HQ', null].map(isQuality)).toEqual([true, true, true, false, false]);
  });
});
