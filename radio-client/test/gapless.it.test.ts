import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Quality } from '../src/player/abr.ts';
import { BROWSER_NAMES, type BrowserKind } from './support/browser.ts';
import { startListeningRig, stopListeningRig, type ListeningRig } from './support/listening-rig.ts';
import { click, DEADLINE_MS, instrument, records, stats, waitFor, waitUntil } from './support/player-page.ts';
import { expectNoStallOfThePlayer } from './support/player-scenarios.ts';
import { recordSink } from './support/sink-recorder.ts';
import { TONE_HZ, TONE_PEAK, toneMaterial } from './support/station-material.ts';
import { describeFault, judgeTone, type ToneFault } from './support/tone-judge.ts';

// What each browser sends to the sound card (a PulseAudio null sink's monitor, recorded with parec)
// while <radio-player> plays the station's 997 Hz tone: the same sine, without one skipped or repeated
// frame, across segment boundaries and quality switches.

const SEGMENT_SECONDS = 2;
/** A fault this close to a segment boundary (or a switch) counts as the player's. */
const NEAR_SECONDS = 0.15;
/** Recordings made before one counts as the judge (the machine may drop output under load, see below). */
const ATTEMPTS = 3;

interface Context extends ListeningRig {
  page: Page;
  segmentRequests: string[];
}

/** The element's currentTime and the page's clock, read together. */
function mediaClock(page: Page): Promise<{ at: number; time: number; outputLatency: number }> {
  return page.evaluate(() => {
    const output = document.querySelector('radio-player')!.output as MediaElementAudioSourceNode;
    const context = output.context as AudioContext;
    return { at: Date.now(), time: output.mediaElement.currentTime, outputLatency: (context.outputLatency || 0) + context.baseLatency };
  });
}

async function choose(page: Page, quality: Quality): Promise<void> {
  const select = await page.$('radio-player >>> [part="quality"]');
  await select!.select(quality);
}

/** Switches to `quality` and waits until its first segment has played for half a second; returns that segment's start (media time). */
async function switchTo(ctx: Context, quality: Quality): Promise<number> {
  const requested = ctx.segmentRequests.length;
  await choose(ctx.page, quality);
  let url: string | undefined;
  await waitUntil(`a ${quality} segment requested`, () => (url = ctx.segmentRequests.slice(requested).find((u) => u.includes(`/${quality}/`))) !== undefined);
  const start = Number(/(\d{10})\.m4s$/.exec(url!)![1]) * SEGMENT_SECONDS;
  await waitFor(ctx.page, `the ${quality} segment at ${start} s playing`, (t) => (document.querySelector('radio-player')!.output as MediaElementAudioSourceNode).mediaElement.currentTime > t, start + 0.5);
  return start;
}

interface Judged {
  faults: ToneFault[];
  /** Faults within NEAR_SECONDS of a boundary or a switch. */
  atBoundaries: ToneFault[];
  boundaries: number;
  maxResidual: number;
}

/**
 * Records the sink while the player plays on (and switches to each of `switches` in turn) until
 * `boundaries` more segment boundaries have played, then judges the tone. Segment boundaries are
 * placed in the recording from the element's clock (to within the output latency and a poll).
 */
async function recordAcross(ctx: Context, boundaries: number, switches: Quality[] = []): Promise<Judged> {
  const recorder = await recordSink(ctx.pulse.env);
  const clock = await mediaClock(ctx.page);
  const switchedAt: number[] = [];
  for (const quality of switches) switchedAt.push(await switchTo(ctx, quality));
  const last = (Math.floor((await mediaClock(ctx.page)).time / SEGMENT_SECONDS) + boundaries) * SEGMENT_SECONDS;
  await waitFor(ctx.page, `the playhead past ${last} s`, (t) => (document.querySelector('radio-player')!.output as MediaElementAudioSourceNode).mediaElement.currentTime > t, last + 0.3, DEADLINE_MS + boundaries * SEGMENT_SECONDS * 1000);
  const recording = await recorder.stop();
  // Media time m is heard at clock.at + (m - clock.time) + latency, which is this far into the recording:
  const toRecording = (m: number) => (clock.at - recording.startedAt) / 1000 + (m - clock.time) + clock.outputLatency;
  // The first 150 ms are parec's own start.
  const judged = judgeTone(recording.samples, { hz: TONE_HZ, peak: TONE_PEAK, from: 0.15 });
  const marks: number[] = [];
  const judgedUntil = recording.samples.length / recording.sampleRate - 0.05;
  for (let m = Math.ceil(clock.time / SEGMENT_SECONDS) * SEGMENT_SECONDS; toRecording(m) < judgedUntil; m += SEGMENT_SECONDS) marks.push(toRecording(m));
  const near = (f: ToneFault) => [...marks, ...switchedAt.map(toRecording)].some((t) => f.start - NEAR_SECONDS <= t && t <= f.end + NEAR_SECONDS);
  return { faults: judged.faults, atBoundaries: judged.faults.filter(near), boundaries: marks.length, maxResidual: judged.maxResidual };
}

/**
 * Records until a recording is clean, up to {@link ATTEMPTS} times: a loaded machine (two cores,
 * other tests) can starve the browser's audio thread, and the sink then plays silence where the
 * browser was late. Those dropouts fall anywhere; a fault of the player's falls on a boundary or a
 * switch, in every attempt. In the last one, faults away from them must be such dropouts.
 */
async function judgeAcross(ctx: Context, boundaries: number, switches: () => Quality[] = () => []): Promise<Judged> {
  let judged: Judged | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    judged = await recordAcross(ctx, boundaries, switches());
    if (judged.faults.length === 0) break;
    console.warn(`recording ${attempt}: ${judged.faults.map(describeFault).join('; ')}`);
  }
  const elsewhere = judged!.faults.filter((f) => !judged!.atBoundaries.includes(f));
  expect(elsewhere.every((f) => f.minLevel < 0.1), `faults away from the boundaries that are not dropouts: ${elsewhere.map(describeFault).join('; ')}`).toBe(true);
  return judged!;
}

describe.each(['chromium', 'firefox'] as const)('what <radio-player> sends to the sound card in headless %s', (kind: BrowserKind) => {
  const ctx = { segmentRequests: [] as string[] } as Context;

  beforeAll(async () => {
    Object.assign(ctx, await startListeningRig(kind, toneMaterial(SEGMENT_SECONDS)));
    ctx.page = await ctx.browser.newPage();
    await instrument(ctx.page);
    ctx.page.on('request', (request) => {
      if (/\/(hq|lq)\/\d{10}\.m4s$/.test(request.url())) ctx.segmentRequests.push(request.url());
    });
    await ctx.page.goto(`${ctx.app.url}/`);
  });

  afterAll(() => stopListeningRig(ctx));

  it(`HQ: the tone without a skipped or repeated frame over 3 segment boundaries (${BROWSER_NAMES[kind]})`, async () => {
    await choose(ctx.page, 'hq');
    await click(ctx.page, 'play-button');
    await waitFor(ctx.page, 'a segment played', () => document.querySelector('radio-player')!.stats.segmentsPlayed >= 1);
    const judged = await judgeAcross(ctx, 3);
    expect(judged.boundaries).toBeGreaterThanOrEqual(3);
    expect(judged.atBoundaries.map(describeFault)).toEqual([]);
    expect(ctx.segmentRequests.every((url) => url.includes('/hq/'))).toBe(true);
  });

  it('LQ: the same over 3 boundaries, after a switch from HQ', async () => {
    await switchTo(ctx, 'lq');
    const judged = await judgeAcross(ctx, 3);
    expect(judged.boundaries).toBeGreaterThanOrEqual(3);
    expect(judged.atBoundaries.map(describeFault)).toEqual([]);
  });

  it("across switches from LQ to HQ and back to LQ, where the Opus decoder starts warm on the previous fragment's end", async () => {
    // Each attempt starts on LQ: the first switches to HQ, then back.
    const judged = await judgeAcross(ctx, 1, () => ['hq', 'lq']);
    expect(judged.boundaries).toBeGreaterThanOrEqual(3);
    expect(judged.atBoundaries.map(describeFault)).toEqual([]);
    expectNoStallOfThePlayer(await stats(ctx.page), ctx);
    expect((await records(ctx.page)).pageErrors).toEqual([]);
  });
});
