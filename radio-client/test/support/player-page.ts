import type { Page } from 'puppeteer-core';
import type { RadioPlayer } from '../../src/player/radio-player.ts';

/** How long any awaited condition may take: a few 2 s segments, generous for a loaded 2-core box. */
export const DEADLINE_MS = 20_000;
/** RMS above which the output counts as audible: the test tone is about 0.088 (-21 dBFS). */
export const AUDIBLE_RMS = 0.02;

export type Stats = RadioPlayer['stats'];

/** What the page itself recorded (see {@link instrument}). */
export interface PageRecords {
  /** Uncaught exceptions and unhandled rejections. */
  pageErrors: string[];
  cspViolations: string[];
  /** The players' `error` events, as `kind: message`. */
  playerErrors: string[];
  /** The players' `statechange` events, as `state: message`. */
  playerStates: string[];
}

/**
 * Before any page script runs, records what a page script could see: uncaught errors, unhandled
 * rejections, CSP violations, and every player's public `error` and `statechange` events. The same
 * in every browser (Firefox over BiDi reports less of this to the driver than Chromium over CDP).
 */
export async function instrument(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as PageRecords;
    w.pageErrors = [];
    w.cspViolations = [];
    w.playerErrors = [];
    w.playerStates = [];
    window.addEventListener('error', (event) => {
      if (event.target === window) w.pageErrors.push(`uncaught: ${event.message}`);
    });
    window.addEventListener('unhandledrejection', (event) => {
      const reason = event.reason as { message?: string } | undefined;
      w.pageErrors.push(`unhandled rejection: ${reason?.message ?? String(reason)}`);
    });
    document.addEventListener('securitypolicyviolation', (event) => w.cspViolations.push(`${event.violatedDirective}: ${event.blockedURI}`));
    // Neither event bubbles; the capture phase still passes the document.
    document.addEventListener('error', (event) => {
      if ((event.target as Element).localName === 'radio-player') w.playerErrors.push(`${(event as ErrorEvent & { kind: string }).kind}: ${(event as ErrorEvent).message}`);
    }, true);
    document.addEventListener('statechange', (event) => {
      const e = event as Event & { state: string; message: string };
      w.playerStates.push(`${e.state}: ${e.message}`);
    }, true);
  });
}

export function records(page: Page): Promise<PageRecords> {
  return page.evaluate(() => {
    const { pageErrors, cspViolations, playerErrors, playerStates } = window as unknown as PageRecords;
    return { pageErrors, cspViolations, playerErrors, playerStates };
  });
}

/**
 * Evaluates `predicate` in the page every 100 ms until it holds, or fails at the deadline saying what
 * it waited for and what the player shows then.
 */
/** What {@link waitFor} needs of a page: puppeteer's Page, or WebKit's (webkit-browser.ts). */
export interface ScriptedPage {
  evaluate(fn: (arg: any) => unknown, arg?: unknown): Promise<unknown>;
}

export async function waitFor<A>(page: ScriptedPage, what: string, predicate: (arg: A) => boolean, arg?: A, deadlineMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await page.evaluate(predicate as (arg: unknown) => boolean, arg))) {
    if (Date.now() > deadline) {
      const now = await page.evaluate(() => {
        const p = document.querySelector('radio-player')!;
        return { state: p.state, stats: p.stats, status: p.shadowRoot?.querySelector('[role=status]')?.textContent };
      });
      throw new Error(`waited ${deadlineMs} ms for ${what}; the player is now ${JSON.stringify(now)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Polls a condition of the test's own (not the page's) every 100 ms until it holds, or fails at the deadline. */
export async function waitUntil(what: string, condition: () => boolean, deadlineMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${deadlineMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A real click (trusted input, a user gesture) on the `part` of the player `host` (a CSS selector).
 * (Not page.locator: its wait for a stable box never ends in a second headless Firefox beside another.)
 */
export async function click(page: Page, part: string, host = 'radio-player'): Promise<void> {
  const selector = `${host} >>> [part="${part}"]`;
  const deadline = Date.now() + DEADLINE_MS;
  // There, and where it was 100 ms ago (a page still laying out moves it under the pointer).
  let last = '';
  for (;;) {
    const button = await page.$(selector);
    const box = JSON.stringify(await button?.boundingBox());
    if (button && box !== 'null' && box === last) return button.click();
    if (Date.now() > deadline) throw new Error(`waited ${DEADLINE_MS} ms for ${selector}`);
    last = box ?? '';
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The sentence on the player's status line. */
export function statusText(page: Page, host = 'radio-player'): Promise<string> {
  return page.evaluate((host) => document.querySelector(host)!.shadowRoot!.querySelector('[role=status]')!.textContent ?? '', host);
}

/** Waits until the status line of `host` matches `pattern`. */
export async function waitForStatus(page: Page, pattern: RegExp, host = 'radio-player'): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const text = await statusText(page, host);
    if (pattern.test(text)) return;
    if (Date.now() > deadline) throw new Error(`waited ${DEADLINE_MS} ms for a status matching ${pattern}; it says "${text}"`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function playerState(page: Page): Promise<string> {
  return page.evaluate(() => document.querySelector('radio-player')!.state);
}

export function stats(page: Page): Promise<Stats> {
  return page.evaluate(() => document.querySelector('radio-player')!.stats);
}

/** The player's media element (reached through its output node), as the tests read it. */
export function element(page: Page): Promise<{ src: string; currentTime: number; buffered: Array<[number, number]>; playbackRate: number }> {
  return page.evaluate(() => {
    const audio = (document.querySelector('radio-player')!.output as MediaElementAudioSourceNode).mediaElement;
    const ranges = Array.from({ length: audio.buffered.length }, (_, i): [number, number] => [audio.buffered.start(i), audio.buffered.end(i)]);
    return { src: audio.src, currentTime: audio.currentTime, buffered: ranges, playbackRate: audio.playbackRate };
  });
}

/** Hangs an AnalyserNode on the player's `output` and keeps the latest RMS in `window.outputRms`. */
export async function probeOutput(page: Page): Promise<void> {
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

export function waitForAudible(page: Page): Promise<void> {
  return waitFor(page, 'audible output', (threshold) => (window as unknown as { outputRms: number }).outputRms > threshold, AUDIBLE_RMS);
}

/** How far `seconds` is from the nearest segment boundary of the media timeline (seq * segmentSeconds). */
export function offBoundary(seconds: number, segmentSeconds: number): number {
  return Math.abs(seconds - Math.round(seconds / segmentSeconds) * segmentSeconds);
}
