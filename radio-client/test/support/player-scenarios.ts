import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_NAMES, launchBrowser, type BrowserKind } from './browser.ts';
import { startListeningRig, stopListeningRig, type ListeningRig } from './listening-rig.ts';
import {
  click, element, instrument, offBoundary, type PageRecords, playerState, probeOutput, records, stats, statusText, waitFor, waitForAudible, waitForStatus, waitUntil,
} from './player-page.ts';
import { toneMaterial } from './station-material.ts';

export const SEGMENT_SECONDS = 2;
/** Long enough for the player to catch up 2 s at playbackRate 1.02 (100 s), plus the segments it waits for. */
const CATCH_UP_DEADLINE_MS = 120_000;

/** What the scenarios run against; filled in before the first test. */
export interface ScenarioContext extends ListeningRig {
  kind: BrowserKind;
  /** The page the scenarios share, one listener going through them in order. */
  page: Page;
  /** URLs of the segment fragments `page` requested, in order. */
  segmentRequests: string[];
  /** The manifest GETs `page` made, with the If-None-Match they sent and the ETag they got back. */
  manifestExchanges: Array<{ ifNoneMatch: string | undefined; etag: string | undefined; status: number | undefined }>;
}

/**
 * No underrun and no gap but those the station caused: a segment published later than the player's margin
 * (a loaded machine, or `delayNextSegment`) may cost it one stall or one skip; any other is the player's.
 */
export function expectNoStallOfThePlayer(played: { underruns: number; gaps: number }, ctx: Pick<ScenarioContext, 'station'>): void {
  const why = `the station published ${ctx.station.slowPublishes} segments late; underruns ${played.underruns}, gaps ${played.gaps}`;
  expect(played.underruns + played.gaps, why).toBeLessThanOrEqual(ctx.station.slowPublishes);
}

/** A fresh instrumented page of the scenarios' browser, on the station page. */
export async function openStationPage(ctx: ScenarioContext, beforeLoad?: (page: Page) => Promise<void>): Promise<Page> {
  const page = await ctx.browser.newPage();
  await instrument(page);
  await beforeLoad?.(page);
  await page.goto(`${ctx.app.url}/`);
  return page;
}

/**
 * The player's core scenarios, one listener on one page going through them in order, in `kind`:
 * against a live station made of the daemon's encoders and Publisher on s3rver (2 s segments of the
 * test tone), the browser playing into a PulseAudio null sink. `extra` adds tests of one browser
 * (before the final check that the page saw no error).
 */
export function describePlayerScenarios(kind: BrowserKind, extra?: (ctx: ScenarioContext) => void): void {
  describe(`<radio-player> in headless ${BROWSER_NAMES[kind]}, against a live station in s3rver on loopback`, () => {
    const ctx = { kind, segmentRequests: [] as string[], manifestExchanges: [] as ScenarioContext['manifestExchanges'] } as ScenarioContext;

    beforeAll(async () => {
      Object.assign(ctx, await startListeningRig(kind, toneMaterial(SEGMENT_SECONDS)));
      ctx.page = await openStationPage(ctx, async (page) => {
        const exchanges = new Map<unknown, ScenarioContext['manifestExchanges'][number]>();
        page.on('request', (request) => {
          if (/\/(hq|lq)\/\d{10}\./.test(request.url())) ctx.segmentRequests.push(request.url());
          if (request.url() === `${ctx.station.publicUrl}/manifest.json` && request.method() === 'GET') {
            const exchange = { ifNoneMatch: request.headers()['if-none-match'], etag: undefined, status: undefined };
            exchanges.set(request, exchange);
            ctx.manifestExchanges.push(exchange);
          }
        });
        page.on('response', (response) => {
          const exchange = exchanges.get(response.request());
          if (exchange) Object.assign(exchange, { etag: response.headers().etag, status: response.status() });
        });
      });
    });

    afterAll(() => stopListeningRig(ctx));

    it('shows the station and a Play button that is reachable from the keyboard', async () => {
      const { page } = ctx;
      expect(await page.$eval('h1', (h) => h.textContent)).toBe('Loopback FM');
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => document.querySelector('radio-player')!.shadowRoot!.activeElement?.textContent?.trim());
      expect(focused).toBe('Play');
    });

    it('plays audibly after a click on Play, LQ first, through one media element fed by MSE', async () => {
      const { page, segmentRequests } = ctx;
      await click(page, 'play-button');
      await probeOutput(page);
      await waitForAudible(page);
      // `playing` follows the element's currentTime, seen moving within a tick.
      await waitFor(page, 'the playing state', () => document.querySelector('radio-player')!.state === 'playing');
      expect(await statusText(page)).toBe('Playing live.');
      expect(segmentRequests[0]).toMatch(/\/lq\/\d{10}\.m4s$/);
      expect((await element(page)).src).toMatch(/^blob:/);
    });

    it('plays consecutive segments gaplessly (no underruns, no gaps), moving to HQ on a fast link', async () => {
      const { page, segmentRequests } = ctx;
      await waitFor(page, 'three segments played', () => document.querySelector('radio-player')!.stats.segmentsPlayed >= 3);
      const now = await stats(page);
      expectNoStallOfThePlayer(now, ctx);
      expect(now.bufferedSeconds).toBeGreaterThan(0);
      // One segment, a margin of 1 s and a poll retry (0.25 s) behind the live edge, plus the station's
      // publishing delay (tens of ms on an idle machine, a second on a busy one; the player takes the median of 20).
      expect(now.latencySeconds).toBeGreaterThan(SEGMENT_SECONDS + 0.75);
      // (Within half a second of that it does not correct.)
      expect(now.latencySeconds).toBeLessThan(SEGMENT_SECONDS + 1.25 + ctx.station.publishDelay + 0.5);
      expect(now.bytesLoaded).toBeGreaterThan(0);
      // The fragments lie on the timeline at seq * segmentSeconds and join without a hole: one range,
      // ending on a segment boundary (the append windows let in exactly each segment's samples).
      const media = await element(page);
      expect(media.buffered).toHaveLength(1);
      const [start, end] = media.buffered[0]!;
      expect(start).toBeGreaterThan(1.5e9);
      expect(start).toBeLessThanOrEqual(media.currentTime);
      expect(offBoundary(end, SEGMENT_SECONDS)).toBeLessThan(1e-4);
      // Loopback leaves far more than 2x headroom over the HQ bitrate: auto switches after the first segment.
      expect(segmentRequests.slice(1).every((url) => url.includes('/hq/'))).toBe(true);
    });

    it('revalidates the manifest with the ETag it got last (If-None-Match), polling on the segment clock', async () => {
      const { page, manifestExchanges } = ctx;
      await waitFor(page, 'ten manifest polls', () => document.querySelector('radio-player')!.stats.manifestRequests >= 10);
      const done = manifestExchanges.filter((e) => e.status !== undefined);
      expect(done[0]!.ifNoneMatch).toBeUndefined();
      for (const [i, exchange] of done.entries()) {
        if (i > 0) expect(exchange.ifNoneMatch).toBe(done.slice(0, i).findLast((e) => e.status === 200)!.etag);
      }
      // About one poll per segment once it saw one arrive (a 304 now and then, when one comes late).
      const played = (await stats(page)).segmentsPlayed;
      expect((await stats(page)).manifestRequests).toBeLessThan(2 * played + 8);
    });

    it.each(['hq', 'lq'] as const)('keeps playing when the listener picks %s, loads only that stream, and remembers it', async (quality) => {
      const { page, segmentRequests } = ctx;
      const before = await stats(page);
      const select = await page.$('radio-player >>> [part="quality"]');
      await select!.select(quality);
      const switchedAt = segmentRequests.length;
      // A download already under way when the listener switched may finish in the old quality.
      await waitUntil('two segment requests after the switch', () => segmentRequests.length >= switchedAt + 3);
      await waitFor(page, 'two more segments played', (n) => document.querySelector('radio-player')!.stats.segmentsPlayed >= n, before.segmentsPlayed + 2);
      expect(segmentRequests.slice(switchedAt + 1).filter((url) => !url.includes(`/${quality}/`))).toEqual([]);
      await waitForAudible(page);
      expectNoStallOfThePlayer(await stats(page), ctx);
      expect(await page.evaluate(() => localStorage.getItem('radio-player.quality'))).toBe(quality);
    });

    it('mutes and unmutes from the keyboard', async () => {
      const { page } = ctx;
      await page.$eval('radio-player >>> [part="mute-button"]', (button) => (button as HTMLElement).focus());
      await page.keyboard.press('Enter');
      await waitFor(page, 'silent output', () => (window as unknown as { outputRms: number }).outputRms < 1e-4);
      expect(await page.$eval('radio-player >>> [part="mute-button"]', (b) => [b.textContent?.trim(), b.getAttribute('aria-pressed')])).toEqual(['Unmute', 'true']);
      await page.keyboard.press('Enter');
      await waitForAudible(page);
    });

    it('shows "Off air" when the station stops, and plays the new run when it returns, from its first sample', async () => {
      const { page, station } = ctx;
      station.mode = 'off-air';
      await waitForStatus(page, /^Off air/);
      expect(await playerState(page)).toBe('offline');
      // The unchanged off-air manifest costs 304s.
      const before = (await stats(page)).manifestNotModified;
      await waitFor(page, 'a 304 on the manifest', (n) => document.querySelector('radio-player')!.stats.manifestNotModified > n, before);
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
      expect(offBoundary(runStart, SEGMENT_SECONDS)).toBeLessThan(1e-4);
      await waitFor(page, 'the playhead in the new run', (start) => {
        const p = document.querySelector('radio-player')!;
        return p.state === 'playing' && (p.output as MediaElementAudioSourceNode).mediaElement.currentTime > start;
      }, runStart);
      await waitForAudible(page);
    });

    it('says what is wrong with a malformed manifest, and recovers when a good one returns', async () => {
      const { page, station } = ctx;
      station.mode = 'broken';
      await waitFor(page, 'the error state', () => document.querySelector('radio-player')!.state === 'error');
      const sentence = 'The station published a manifest this player cannot read (invalid manifest: the body is not JSON).';
      expect(await statusText(page)).toBe(sentence);
      expect((await records(page)).playerErrors).toContain(`manifest-invalid: ${sentence}`);
      station.mode = 'live';
      const broken = await stats(page);
      await waitFor(page, 'playing after the manifest was repaired', (n) => {
        const p = document.querySelector('radio-player')!;
        return p.state === 'playing' && p.stats.segmentsPlayed > n;
      }, broken.segmentsPlayed);
      await waitForAudible(page);
    });

    it.each([
      ['garbage', 'segment-undecodable', /^The (hq|lq) segment \d+ could not be decoded \(not MP4 boxes: .+\)\.$/],
      // Chromium reports an error (and ends the MediaSource); Firefox takes the bytes and buffers nothing.
      ['unparsable', 'segment-undecodable', /^The (hq|lq) segment \d+ could not be decoded \(the browser (could not read the appended media|found no audio in it)\)\.$/],
      ['missing', 'segment-missing', /^The station's storage has no (hq|lq) segment \d+ \(HTTP 404\)/],
    ] as const)('says what is wrong with a %s segment, skips it and plays on', async (corruption, kind, message) => {
      const { page, station } = ctx;
      const before = await stats(page);
      station.corruptNextSegment = corruption;
      await waitFor(page, 'the error state', () => document.querySelector('radio-player')!.state === 'error');
      expect(await statusText(page)).toMatch(message);
      await waitFor(page, 'playing the segment after it', (n) => {
        const p = document.querySelector('radio-player')!;
        return p.state === 'playing' && p.stats.segmentsPlayed > n;
      }, before.segmentsPlayed);
      expect((await stats(page)).gaps).toBe(before.gaps + 1);
      expect((await records(page)).playerErrors.some((e) => e.startsWith(`${kind}: `))).toBe(true);
      await waitForAudible(page);
    });

    it('shows a stall as "Buffering…", plays on when the late segment comes, and catches up gently', async () => {
      const { page, station } = ctx;
      // A fresh listener, on target (not correcting).
      const played = (await stats(page)).segmentsPlayed;
      await click(page, 'play-button');
      await waitFor(page, 'idle', () => document.querySelector('radio-player')!.state === 'idle');
      await click(page, 'play-button');
      // A segment published late (a loaded machine) may stall it first; it then catches up at 1.02 (50 s
      // for each second behind): wait for that too, not only for the two segments.
      await waitFor(page, 'two segments played at rate 1', (n) => {
        const p = document.querySelector('radio-player')!;
        return p.stats.segmentsPlayed >= n + 2 && (p.output as MediaElementAudioSourceNode).mediaElement.playbackRate === 1;
      }, played, CATCH_UP_DEADLINE_MS);
      await probeOutput(page);
      const before = await stats(page);
      // A slow uplink: the next segment comes 3 s late (the station counts as stalled only after 3 segments, 6 s).
      station.delayNextSegment(3000);
      await waitForStatus(page, /^Buffering…$/);
      expect(await playerState(page)).toBe('loading');
      await waitFor(page, 'playing after the late segment came', (n) => {
        const p = document.querySelector('radio-player')!;
        return p.state === 'playing' && p.stats.underruns > n;
      }, before.underruns);
      const after = await stats(page);
      expect(after.underruns).toBe(before.underruns + 1);
      expect(after.gaps).toBe(before.gaps);
      // Behind by the stall (about 1.75 s: 3 s less the 1.25 s of margin); the stall adds half a second
      // to this listener's latency, and the rest it catches up at 1.02 instead of skipping it.
      expect(after.latencySeconds).toBeGreaterThan(before.latencySeconds + 1);
      expect(after.latencySeconds).toBeLessThan(before.latencySeconds + 3);
      await waitFor(page, 'catching up at 1.02', () => (document.querySelector('radio-player')!.output as MediaElementAudioSourceNode).mediaElement.playbackRate === 1.02);
      await waitForAudible(page);
    }, CATCH_UP_DEADLINE_MS + 60_000);

    it('shows a suspended output as "Tap to allow sound.", never as playing, and plays again after a tap', async () => {
      const { page } = ctx;
      // What an OS interruption (a call) or an autoplay policy does to the AudioContext the sound goes through.
      await page.evaluate(() => (document.querySelector('radio-player')!.output!.context as AudioContext).suspend());
      await waitForStatus(page, /^Tap to allow sound\.$/);
      expect(await playerState(page)).toBe('blocked');
      await click(page, 'unblock-button');
      await waitFor(page, 'playing after the tap', () => document.querySelector('radio-player')!.state === 'playing');
      await waitForAudible(page);
    });

    it('says when the player itself fails (an exception where none should be), recovers, and leaves no rejection unhandled', async () => {
      const failing = await openStationPage(ctx, (page) =>
        page.evaluateOnNewDocument(() => {
          const w = window as unknown as { restoreAppend(): void };
          const append = SourceBuffer.prototype.appendBuffer;
          SourceBuffer.prototype.appendBuffer = () => {
            throw new TypeError('boom');
          };
          w.restoreAppend = () => (SourceBuffer.prototype.appendBuffer = append);
        }).then(() => undefined),
      );
      try {
        await click(failing, 'play-button');
        await waitForStatus(failing, /^Something went wrong in the player \(TypeError: boom\); it keeps trying\.$/);
        expect(await playerState(failing)).toBe('error');
        expect((await records(failing)).playerErrors.at(-1)).toMatch(/^unexpected: /);
        await failing.evaluate(() => (window as unknown as { restoreAppend(): void }).restoreAppend());
        await waitFor(failing, 'playing once appending works', () => document.querySelector('radio-player')!.state === 'playing');
        expect((await records(failing)).pageErrors).toEqual([]);
      } finally {
        await failing.close();
      }
    });

    it('never stays "Tuning in…": a browser that never finishes an append ends in the error state, and the player starts afresh', async () => {
      const stuck = await openStationPage(ctx, (page) =>
        page.evaluateOnNewDocument(() => {
          // Takes the bytes and never says it is done.
          SourceBuffer.prototype.appendBuffer = () => undefined;
        }).then(() => undefined),
      );
      try {
        await click(stuck, 'play-button');
        await waitFor(stuck, 'loading', () => document.querySelector('radio-player')!.state === 'loading');
        await waitForStatus(stuck, /^The sound has not come for 8 s though the station is on air; the player starts again\.$|could not be decoded \(the browser did not finish appending within 10 s\)/);
        expect(await playerState(stuck)).toBe('error');
        expect((await records(stuck)).pageErrors).toEqual([]);
      } finally {
        await stuck.close();
      }
    });

    it('returns to the live edge after Stop and Play, rather than resuming where it stopped', async () => {
      const { page, station, segmentRequests } = ctx;
      await click(page, 'play-button');
      await waitFor(page, 'idle after Stop', () => document.querySelector('radio-player')!.state === 'idle');
      // Three segments later, resuming would fetch the oldest one listed; joining fetches the second-newest.
      const stoppedAt = station.newestSeq;
      await waitUntil('three more segments published', () => station.newestSeq >= stoppedAt + 3);
      const newest = station.newestSeq;
      const requestedBefore = segmentRequests.length;
      await click(page, 'play-button');
      await waitUntil('a segment request after Play', () => segmentRequests.length > requestedBefore);
      const firstSeq = Number(/\/(\d{10})\.\w+$/.exec(segmentRequests[requestedBefore]!)![1]);
      // newest itself when the station published once more between the click and the manifest fetch.
      expect([newest - 1, newest]).toContain(firstSeq);
      await probeOutput(page);
      await waitForAudible(page);
    });

    it('names a missing CORS rule on the bucket', async () => {
      const { page, station } = ctx;
      const noCorsManifestUrl = await station.putManifestWithoutCors('{}');
      await page.evaluate((src) => {
        const other = document.createElement('radio-player');
        other.id = 'nocors';
        other.src = src;
        document.body.append(other);
      }, noCorsManifestUrl);
      await click(page, 'play-button', '#nocors');
      await waitForStatus(page, /CORS/, '#nocors');
      expect(await statusText(page, '#nocors')).toMatch(/^The station's storage does not allow this site \(CORS\)/);
      await page.evaluate(() => document.querySelector('#nocors')!.remove());
    });

    it("tells the OS what plays (Media Session), and plays and stops from the OS controls", async () => {
      const sessionPage = await openStationPage(ctx, (page) =>
        page.evaluateOnNewDocument(() => {
          // The handlers the page registers, so the test can press the OS buttons.
          const w = window as unknown as { mediaHandlers: Record<string, MediaSessionActionHandler | null> };
          w.mediaHandlers = {};
          const set = navigator.mediaSession.setActionHandler.bind(navigator.mediaSession);
          navigator.mediaSession.setActionHandler = (action, handler) => {
            w.mediaHandlers[action] = handler;
            set(action, handler);
          };
        }).then(() => undefined),
      );
      const media = () => sessionPage.evaluate(() => {
        const { metadata, playbackState } = navigator.mediaSession;
        const handlers = (window as unknown as { mediaHandlers: Record<string, unknown> }).mediaHandlers;
        return { title: metadata?.title, artist: metadata?.artist, playbackState, handlers: Object.keys(handlers).filter((k) => typeof handlers[k] === 'function').sort() };
      });
      const press = (action: string) => sessionPage.evaluate((action) => (window as unknown as { mediaHandlers: Record<string, () => void> }).mediaHandlers[action]!(), action);
      try {
        await click(sessionPage, 'play-button');
        await waitFor(sessionPage, 'playing', () => document.querySelector('radio-player')!.state === 'playing');
        expect(await media()).toEqual({ title: 'Loopback FM', artist: 'Live radio', playbackState: 'playing', handlers: ['pause', 'play', 'stop'] });
        await press('pause');
        await waitFor(sessionPage, 'idle after the OS paused it', () => document.querySelector('radio-player')!.state === 'idle');
        expect((await media()).playbackState).toBe('paused');
        await press('play');
        await waitFor(sessionPage, 'playing after the OS played it', () => document.querySelector('radio-player')!.state === 'playing');
        expect((await media()).playbackState).toBe('playing');
        await press('stop');
        await waitFor(sessionPage, 'idle after the OS stopped it', () => document.querySelector('radio-player')!.state === 'idle');
        expect((await records(sessionPage)).pageErrors).toEqual([]);
      } finally {
        await sessionPage.close();
      }
    });

    it('shows an autoplay the browser refused as "Tap to allow sound.", and plays after the tap', async () => {
      // A browser with its real autoplay policy, and a page that calls play() as it loads (an embed that autoplays).
      const strict = await launchBrowser(kind, { env: ctx.pulse.env, autoplay: false });
      try {
        const page = await strict.newPage();
        await instrument(page);
        await page.evaluateOnNewDocument(() => {
          window.addEventListener('load', () => document.querySelector('radio-player')!.play());
        });
        await page.goto(`${ctx.app.url}/`);
        await waitFor(page, 'the blocked state', () => (window as unknown as PageRecords).playerStates.includes('blocked: Tap to allow sound.'));
        // The driver's own scripts count as the listener's activation to Firefox, which may then let the
        // sound out by itself; where the block holds (Chromium, always), the tap lets it out.
        await click(page, 'unblock-button').catch(async (error: unknown) => {
          if ((await playerState(page)) !== 'playing') throw error;
        });
        await waitFor(page, 'playing after the tap', () => document.querySelector('radio-player')!.state === 'playing');
        await probeOutput(page);
        await waitForAudible(page);
        const { playerStates, pageErrors } = await records(page);
        expect(playerStates.indexOf('blocked: Tap to allow sound.')).toBeLessThan(playerStates.lastIndexOf('playing: Playing live.'));
        expect(pageErrors).toEqual([]);
      } finally {
        await strict.close();
      }
    });

    it('uses ManagedMediaSource where the browser has it (here MediaSource under that name), with remote playback off', async () => {
      const managedPage = await openStationPage(ctx, (page) =>
        page.evaluateOnNewDocument(() => {
          const w = window as unknown as { ManagedMediaSource: typeof MediaSource; managedSources: number };
          w.managedSources = 0;
          w.ManagedMediaSource = class extends MediaSource {
            constructor() {
              super();
              w.managedSources++;
            }
          };
        }).then(() => undefined),
      );
      try {
        await click(managedPage, 'play-button');
        await waitFor(managedPage, 'playing', () => document.querySelector('radio-player')!.state === 'playing');
        expect(await managedPage.evaluate(() => (window as unknown as { managedSources: number }).managedSources)).toBe(1);
        // Safari opens a ManagedMediaSource only for an element that cannot be played remotely.
        expect(await managedPage.evaluate(() => (document.querySelector('radio-player')!.output as MediaElementAudioSourceNode).mediaElement.disableRemotePlayback)).toBe(true);
        await probeOutput(managedPage);
        await waitForAudible(managedPage);
        expect((await records(managedPage)).pageErrors).toEqual([]);
      } finally {
        await managedPage.close();
      }
    });

    extra?.(ctx);

    it('ran without a Content Security Policy violation, an uncaught exception or an unhandled rejection', async () => {
      const { cspViolations, pageErrors } = await records(ctx.page);
      expect(cspViolations).toEqual([]);
      expect(pageErrors).toEqual([]);
    });
  });
}
