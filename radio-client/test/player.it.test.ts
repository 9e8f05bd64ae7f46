import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RadioPlayer } from '../src/player/radio-player.ts';
import { launchChromium, serveApp } from './support/browser.ts';
import { LiveStation } from './support/live-station.ts';
import { toneMaterial } from './support/station-material.ts';

/** How long any awaited condition may take: a few 2 s segments, generous for a loaded 2-core box. */
const DEADLINE_MS = 20_000;
/** RMS above which the output counts as audible: the test tone is about 0.088 (-21 dBFS). */
const AUDIBLE_RMS = 0.02;
const SEGMENT_SECONDS = 2;

type Stats = RadioPlayer['stats'];

/**
 * Evaluates `predicate` in the page every 100 ms until it holds, or fails at the deadline saying what
 * it waited for. (Not page.waitForFunction: that evals a string, which the page's CSP rightly refuses.)
 */
async function waitFor<A>(page: Page, what: string, predicate: (arg: A) => boolean, arg?: A): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await page.evaluate(predicate as (arg: unknown) => boolean, arg))) {
    if (Date.now() > deadline) {
      const now = await page.evaluate(() => {
        const p = document.querySelector('radio-player')!;
        return { state: p.state, stats: p.stats, status: p.shadowRoot?.querySelector('[role=status]')?.textContent };
      });
      throw new Error(`waited ${DEADLINE_MS} ms for ${what}; the player is now ${JSON.stringify(now)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Polls a condition of the test's own (not the page's) every 100 ms until it holds, or fails at the deadline. */
async function waitUntil(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${DEADLINE_MS} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Hangs an AnalyserNode on the player's `output` and keeps the latest RMS in `window.outputRms`. */
async function probeOutput(page: Page): Promise<void> {
  await waitFor(page, 'an output node', () => document.querySelector('radio-player')!.output !== null);
  await page.evaluate(() => {
    const w = window as unknown as { outputRms: number; probeTimer?: number };
    clearInterval(w.probeTimer);
    const output = document.querySelector('radio-player')!.output!;
    const analyser = new AnalyserNode(output.context, { fftSize: 2048 });
    output.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    w.outputRms = 0;
    w.probeTimer = window.setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      w.outputRms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    }, 20);
  });
}

function waitForAudible(page: Page): Promise<void> {
  return waitFor(page, 'audible output', (threshold) => (window as unknown as { outputRms: number }).outputRms > threshold, AUDIBLE_RMS);
}

function playerErrors(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { playerErrors: string[] }).playerErrors);
}

function stats(page: Page): Promise<Stats> {
  return page.evaluate(() => document.querySelector('radio-player')!.stats);
}

/** The player's media element (reached through its output node), as the tests read it. */
function element(page: Page): Promise<{ src: string; currentTime: number; buffered: Array<[number, number]> }> {
  return page.evaluate(() => {
    const audio = (document.querySelector('radio-player')!.output as MediaElementAudioSourceNode).mediaElement;
    const ranges = Array.from({ length: audio.buffered.length }, (_, i): [number, number] => [audio.buffered.start(i), audio.buffered.end(i)]);
    return { src: audio.src, currentTime: audio.currentTime, buffered: ranges };
  });
}

/** How far `seconds` is from the nearest segment boundary of the media timeline (seq * segmentSeconds). */
function offBoundary(seconds: number): number {
  return Math.abs(seconds - Math.round(seconds / SEGMENT_SECONDS) * SEGMENT_SECONDS);
}

describe('<radio-player> in Chromium, against a live station in s3rver on loopback', () => {
  let dir: string;
  let station: LiveStation;
  let app: { url: string; close(): Promise<void> };
  let browser: Browser;
  let page: Page;
  const segmentRequests: string[] = [];
  const cspViolations: string[] = [];
  /** Uncaught exceptions and unhandled rejections in the page. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'radio-client-it-'));
    station = await LiveStation.start(toneMaterial(SEGMENT_SECONDS));
    app = await serveApp(join(dir, 'assets'), station.publicUrl);
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('request', (request) => {
      if (/\/(hq|lq)\/\d{10}\./.test(request.url())) segmentRequests.push(request.url());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
    });
    await page.goto(`${app.url}/`);
    // The element's public events, as a page script would see them.
    await page.evaluate(() => {
      const w = window as unknown as { playerErrors: string[] };
      w.playerErrors = [];
      document.querySelector('radio-player')!.addEventListener('error', (event) => {
        w.playerErrors.push(`${(event as ErrorEvent & { kind: string }).kind}: ${event.message}`);
      });
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await station?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows the station and a Play button that is reachable from the keyboard', async () => {
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Loopback FM');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.querySelector('radio-player')!.shadowRoot!.activeElement?.textContent?.trim());
    expect(focused).toBe('Play');
  });

  it('plays audibly after a click on Play, LQ first, and tells the OS what plays', async () => {
    await page.getByRole('button', { name: 'Play' }).click();
    await probeOutput(page);
    await waitForAudible(page);
    // `playing` follows the element's currentTime, seen moving within a tick.
    await waitFor(page, 'the playing state', () => document.querySelector('radio-player')!.state === 'playing');
    expect(await page.getByRole('status').textContent()).toBe('Playing live.');
    expect(segmentRequests[0]).toMatch(/\/lq\/\d{10}\.m4s$/);
    expect(await page.evaluate(() => navigator.mediaSession.metadata?.title)).toBe('Loopback FM');
    // One <audio> element fed through Media Source Extensions.
    expect((await element(page)).src).toMatch(/^blob:/);
  });

  it('plays consecutive segments gaplessly (no underruns, no gaps), moving to HQ on a fast link', async () => {
    await waitFor(page, 'three segments played', () => document.querySelector('radio-player')!.stats.segmentsPlayed >= 3);
    const now = await stats(page);
    expect(now).toMatchObject({ underruns: 0, gaps: 0 });
    expect(now.bufferedSeconds).toBeGreaterThan(0);
    // Joined one segment, one poll and a margin (4 s) behind the newest segment's end; up to a segment more as it ages.
    expect(now.latencySeconds).toBeGreaterThan(1);
    expect(now.latencySeconds).toBeLessThan(4 + SEGMENT_SECONDS + 1);
    expect(now.bytesLoaded).toBeGreaterThan(0);
    // The fragments lie on the timeline at seq * segmentSeconds and join without a hole: one range,
    // ending on a segment boundary (the append windows let in exactly each segment's samples).
    const media = await element(page);
    expect(media.buffered).toHaveLength(1);
    const [start, end] = media.buffered[0]!;
    expect(start).toBeGreaterThan(1.5e9);
    expect(start).toBeLessThanOrEqual(media.currentTime);
    expect(offBoundary(end)).toBeLessThan(1e-4);
    // Loopback leaves far more than 2x headroom over the HQ bitrate: auto switches after the first segment.
    expect(segmentRequests.slice(1).every((url) => url.includes('/hq/'))).toBe(true);
  });

  it('revalidates the manifest with If-None-Match, so unchanged polls cost a 304', async () => {
    await waitFor(page, 'a 304 on the manifest', () => document.querySelector('radio-player')!.stats.manifestNotModified > 0);
    const now = await stats(page);
    expect(now.manifestRequests).toBeGreaterThan(now.manifestNotModified);
  });

  it.each(['hq', 'lq'] as const)('keeps playing when the listener picks %s, loads only that stream, and remembers it', async (quality) => {
    const before = await stats(page);
    await page.getByRole('combobox', { name: 'Quality' }).selectOption(quality);
    const switchedAt = segmentRequests.length;
    // Segments load one after another: once two have been requested after the switch, the first of
    // them was downloaded, decoded and scheduled (an underrun would have been counted then).
    // A download already under way when the listener switched may finish in the old quality.
    await waitUntil('two segment requests after the switch', () => segmentRequests.length >= switchedAt + 3);
    await waitFor(page, 'two more segments played', (n) => document.querySelector('radio-player')!.stats.segmentsPlayed >= n, before.segmentsPlayed + 2);
    expect(segmentRequests.slice(switchedAt + 1).filter((url) => !url.includes(`/${quality}/`))).toEqual([]);
    await waitForAudible(page);
    expect(await stats(page)).toMatchObject({ underruns: 0, gaps: 0 });
    expect(await page.evaluate(() => localStorage.getItem('radio-player.quality'))).toBe(quality);
  });

  it('mutes and unmutes from the keyboard', async () => {
    await page.getByRole('button', { name: 'Mute' }).focus();
    await page.keyboard.press('Enter');
    await waitFor(page, 'silent output', () => (window as unknown as { outputRms: number }).outputRms < 1e-4);
    expect(await page.getByRole('button', { name: 'Unmute' }).getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('Enter');
    await waitForAudible(page);
  });

  it('shows "Off air" when the station stops, and plays the new run when it returns, from its first sample', async () => {
    station.mode = 'off-air';
    await page.getByRole('status').filter({ hasText: 'Off air' }).waitFor({ timeout: DEADLINE_MS });
    expect(await page.evaluate(() => document.querySelector('radio-player')!.state)).toBe('offline');
    const offAir = await stats(page);
    const lastSeq = station.newestSeq;
    station.mode = 'live';
    await waitFor(page, 'playing after the station returned', (n) => {
      const p = document.querySelector('radio-player')!;
      return p.state === 'playing' && p.stats.discontinuities > n;
    }, offAir.discontinuities);
    // The new run lies later on the timeline: the player plays out what it had, then jumps the gap.
    // Its first LQ fragment begins with a priming packet before the run's first sample, which the
    // append window kept out: the buffered range starts exactly on the run's first segment boundary.
    const runStart = (await element(page)).buffered.at(-1)![0];
    expect(runStart).toBeGreaterThan((lastSeq + 1) * SEGMENT_SECONDS);
    expect(offBoundary(runStart)).toBeLessThan(1e-4);
    await waitFor(page, 'the playhead in the new run', (start) => {
      const p = document.querySelector('radio-player')!;
      return p.state === 'playing' && (p.output as MediaElementAudioSourceNode).mediaElement.currentTime > start;
    }, runStart);
    await waitForAudible(page);
  });

  it('says what is wrong with a malformed manifest, and recovers when a good one returns', async () => {
    station.mode = 'broken';
    await waitFor(page, 'the error state', () => document.querySelector('radio-player')!.state === 'error');
    expect(await page.getByRole('status').textContent()).toMatch(/^The station published a manifest this player cannot read \(invalid manifest: the body is not JSON\)\.$/);
    expect(await playerErrors(page)).toContain(
      'manifest-invalid: The station published a manifest this player cannot read (invalid manifest: the body is not JSON).',
    );
    station.mode = 'live';
    const broken = await stats(page);
    await waitFor(page, 'playing after the manifest was repaired', (n) => {
      const p = document.querySelector('radio-player')!;
      return p.state === 'playing' && p.stats.segmentsPlayed > n;
    }, broken.segmentsPlayed);
    await waitForAudible(page);
  });

  it.each([
    ['garbage', /^The (hq|lq) segment \d+ could not be decoded \(not MP4 boxes: .+\)\.$/],
    ['unparsable', /^The (hq|lq) segment \d+ could not be decoded \(the browser could not read the appended media\)\.$/],
  ] as const)('says which segment could not be decoded (%s), skips it and plays on', async (corruption, message) => {
    const before = await stats(page);
    station.corruptNextSegment = corruption;
    await waitFor(page, 'the error state', () => document.querySelector('radio-player')!.state === 'error');
    expect(await page.getByRole('status').textContent()).toMatch(message);
    await waitFor(page, 'playing the segment after it', (n) => {
      const p = document.querySelector('radio-player')!;
      return p.state === 'playing' && p.stats.segmentsPlayed > n;
    }, before.segmentsPlayed);
    expect((await stats(page)).gaps).toBe(before.gaps + 1);
    expect((await playerErrors(page)).some((e) => e.startsWith('segment-undecodable: '))).toBe(true);
    await waitForAudible(page);
  });

  it('returns to the live edge after Stop and Play, rather than resuming where it stopped', async () => {
    await page.getByRole('button', { name: 'Stop' }).click();
    await waitFor(page, 'idle after Stop', () => document.querySelector('radio-player')!.state === 'idle');
    // Three segments later, resuming would fetch the oldest one listed; joining fetches the second-newest.
    const stoppedAt = station.newestSeq;
    await waitUntil('three more segments published', () => station.newestSeq >= stoppedAt + 3);
    const newest = station.newestSeq;
    const requestedBefore = segmentRequests.length;
    await page.getByRole('button', { name: 'Play' }).click();
    await waitUntil('a segment request after Play', () => segmentRequests.length > requestedBefore);
    const firstSeq = Number(/\/(\d{10})\.\w+$/.exec(segmentRequests[requestedBefore]!)![1]);
    // newest itself when the station published once more between the click and the manifest fetch.
    expect([newest - 1, newest]).toContain(firstSeq);
    await probeOutput(page);
    await waitForAudible(page);
  });

  it('names a missing CORS rule on the bucket', async () => {
    const noCorsManifestUrl = await station.putManifestWithoutCors('{}');
    await page.evaluate((src) => {
      const other = document.createElement('radio-player');
      other.id = 'nocors';
      other.src = src;
      document.body.append(other);
    }, noCorsManifestUrl);
    await page.locator('#nocors').getByRole('button', { name: 'Play' }).click();
    await page.locator('#nocors').getByRole('status').filter({ hasText: 'CORS' }).waitFor({ timeout: DEADLINE_MS });
    expect(await page.locator('#nocors').getByRole('status').textContent()).toMatch(/^The station's storage does not allow this site \(CORS\)/);
  });

  it('uses ManagedMediaSource where the browser has it (here MediaSource under that name), with remote playback off', async () => {
    const managedPage = await browser.newPage();
    try {
      await managedPage.addInitScript(() => {
        const w = window as unknown as { ManagedMediaSource: typeof MediaSource; managedSources: number };
        w.managedSources = 0;
        w.ManagedMediaSource = class extends MediaSource {
          constructor() {
            super();
            w.managedSources++;
          }
        };
      });
      await managedPage.goto(`${app.url}/`);
      await managedPage.getByRole('button', { name: 'Play' }).click();
      await waitFor(managedPage, 'playing', () => document.querySelector('radio-player')!.state === 'playing');
      expect(await managedPage.evaluate(() => (window as unknown as { managedSources: number }).managedSources)).toBe(1);
      // Safari opens a ManagedMediaSource only for an element that cannot be played remotely.
      expect(await managedPage.evaluate(() => (document.querySelector('radio-player')!.output as MediaElementAudioSourceNode).mediaElement.disableRemotePlayback)).toBe(true);
      await probeOutput(managedPage);
      await waitForAudible(managedPage);
    } finally {
      await managedPage.close();
    }
  });

  it("hands the station's HLS playlist to the element where MSE plays neither codec, and tells what the element makes of it", async () => {
    const hlsPage = await browser.newPage();
    const hlsRequests: string[] = [];
    hlsPage.on('request', (request) => {
      if (/\.m3u8$|\/init-\d{10}\.mp4$|\.m4s$/.test(request.url())) hlsRequests.push(request.url().slice(station.publicUrl.length));
    });
    try {
      await hlsPage.addInitScript(() => {
        MediaSource.isTypeSupported = () => false;
      });
      await hlsPage.goto(`${app.url}/`);
      await hlsPage.getByRole('button', { name: 'Play' }).click();
      await probeOutput(hlsPage);
      await waitFor(hlsPage, 'playing or an error', () => ['playing', 'error'].includes(document.querySelector('radio-player')!.state));
      expect((await element(hlsPage)).src).toBe(`${station.publicUrl}/live.m3u8`);
      expect(hlsRequests.slice(0, 2)).toEqual(['/live.m3u8', '/lq/playlist.m3u8']);
      if ((await hlsPage.evaluate(() => document.querySelector('radio-player')!.state)) === 'error') {
        // Chromium 156's own HLS player moves to the HQ variant at once and then refuses the codec
        // change (it does not use changeType itself); Safari's switches. The player says so.
        expect(await hlsPage.getByRole('status').textContent()).toMatch(/^The station's HLS stream could not be played \(.*codec changes not allowed.*\)\.$/);
      } else {
        await waitForAudible(hlsPage);
      }
    } finally {
      await hlsPage.close();
    }
  });

  it('ran without a Content Security Policy violation, an uncaught exception or an unhandled rejection', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
