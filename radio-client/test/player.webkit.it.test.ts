import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStationRig, stopListeningRig, type StationRig } from './support/listening-rig.ts';
import { recordSink, type SinkRecorder } from './support/sink-recorder.ts';
import { TONE_HZ, TONE_PEAK, toneMaterial } from './support/station-material.ts';
import { describeFault, judgeTone } from './support/tone-judge.ts';
import { openWebKitPage, type WebKitPage } from './support/webkit-browser.ts';

// WebKit's engine (WebKitGTK's MiniBrowser, media through GStreamer) has ManagedMediaSource, as Safari
// has from 17.1 (iPhone included): the player's path for Apple's browsers, played for real here.
// WebKitGTK 2.50 plays FLAC in MP4 through MSE but not Opus, so the player must choose HQ.

const SEGMENT_SECONDS = 2;
/** Boundaries each recording spans. */
const BOUNDARIES = 3;
/** Recordings made before one counts as the judge: a loaded machine may drop output (see gapless.it.test.ts). */
const ATTEMPTS = 3;

describe('<radio-player> in WebKitGTK (MiniBrowser under Xvfb), against a live station in s3rver on loopback', () => {
  let rig: StationRig;
  let page: WebKitPage;
  let monitor: SinkRecorder;

  beforeAll(async () => {
    rig = await startStationRig(toneMaterial(SEGMENT_SECONDS), 'radio-client-webkit-');
    const { pulse, app } = rig;
    // Something reads the null sink's monitor from the start, as a sound card's DAC always reads its
    // output: with no reader, WebKitGTK's element stood still for about a second soon after it began
    // playing (not seen with a recording running, nor in the other browsers).
    monitor = await recordSink(pulse.env);
    page = await openWebKitPage(`${app.url}/`, pulse.env);
    await page.instrument();
    // Counts the ManagedMediaSources the player opens (it looks the constructor up when Play is pressed).
    await page.evaluate(() => {
      const w = window as unknown as { ManagedMediaSource: typeof MediaSource; managedSources: number };
      const Managed = w.ManagedMediaSource;
      w.managedSources = 0;
      w.ManagedMediaSource = class extends Managed {
        constructor() {
          super();
          w.managedSources++;
        }
      };
    });
  }, 60_000);

  afterAll(async () => {
    await page?.close();
    await monitor?.stop();
    await stopListeningRig(rig ?? {});
  });

  it(`plays HQ through a ManagedMediaSource, the tone without a skipped or repeated frame over ${BOUNDARIES} segment boundaries`, async () => {
    const supports = await page.evaluate(() => ({
      flac: MediaSource.isTypeSupported('audio/mp4; codecs="flac"'),
      opus: MediaSource.isTypeSupported('audio/mp4; codecs="opus"') || MediaSource.isTypeSupported('audio/mp4; codecs="Opus"'),
    }));
    expect(supports.flac).toBe(true);
    await page.click('play-button');
    await page.waitFor('playing', () => document.querySelector('radio-player')!.state === 'playing');
    // A player fault at segment boundaries recurs in every recording; the machine's dropouts do not.
    const attempts: string[] = [];
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const recorder = await recordSink(rig.pulse.env);
      const playedBefore = await page.evaluate(() => document.querySelector('radio-player')!.stats.segmentsPlayed);
      await page.waitFor(`${BOUNDARIES} more segments played`, (n) => document.querySelector('radio-player')!.stats.segmentsPlayed >= n, playedBefore + BOUNDARIES + 1);
      const recording = await recorder.stop();
      const { faults } = judgeTone(recording.samples, { hz: TONE_HZ, peak: TONE_PEAK, from: 0.15 });
      expect(recording.samples.length / recording.sampleRate).toBeGreaterThan(BOUNDARIES * SEGMENT_SECONDS);
      attempts.push(faults.length ? faults.map(describeFault).join('; ') : 'clean');
      if (faults.length === 0) break;
    }
    expect(attempts.at(-1), `recordings: ${attempts.join(' | ')}`).toBe('clean');
    const played = await page.evaluate(() => ({
      managedSources: (window as unknown as { managedSources: number }).managedSources,
      streams: [...new Set(performance.getEntriesByType('resource').map((e) => /\/(hq|lq)\/\d{10}\.m4s$/.exec(e.name)?.[1]).filter(Boolean))],
      stats: document.querySelector('radio-player')!.stats,
    }));
    const history = `the station published within ${rig.station.publishDelay} s; the player: ${(await page.playerStates()).join(' | ')}; ${JSON.stringify(played.stats)}`;
    expect(played.managedSources).toBeGreaterThanOrEqual(1);
    expect(played.streams).toEqual(supports.opus ? expect.arrayContaining(['hq']) : ['hq']);
    expect(played.stats.gaps, history).toBe(0);
    // A stall is the station's when it published later than the latency's margin allows (a loaded machine).
    expect(played.stats.underruns, history).toBeLessThanOrEqual(rig.station.slowPublishes);
    // One latency for every browser: a segment, the margin and a poll behind the edge, plus the station's delay.
    expect(played.stats.latencySeconds, history).toBeGreaterThan(3);
    expect(played.stats.latencySeconds, history).toBeLessThan(4 + rig.station.publishDelay);
  });

  it('stops at Stop and plays again at Play, without a page error', async () => {
    await page.click('play-button');
    await page.waitFor('idle', () => document.querySelector('radio-player')!.state === 'idle');
    await page.click('play-button');
    await page.waitFor('playing again', () => document.querySelector('radio-player')!.state === 'playing');
    expect(await page.pageErrors()).toEqual([]);
  });
});
