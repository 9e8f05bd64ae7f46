import { readdir, readFile } from 'node:fs/promises';
import type { BrowserKind } from './browser.ts';
import { startListeningRig, stopListeningRig } from './listening-rig.ts';
import { heardMarkers, markerMaterial, type HeardMarker } from './marker-tone.ts';
import { click, instrument, records, waitFor } from './player-page.ts';
import { recordSink } from './sink-recorder.ts';

/** One listener's session: when Play was pressed, and what was heard. */
export interface ListenerSession {
  /** Where on the segment clock Play was pressed (0: on a boundary, 0.5: half a segment later). */
  phase: number;
  pressedAt: number;
  /** The markers heard in the session. */
  markers: HeardMarker[];
  /** Median of the markers' latencies (s). */
  latency: number | undefined;
  /** What the player said (`stats.latencySeconds`) at the end of the session. */
  reported: number;
  /** playbackRate seen during the session (the element's). */
  rates: number[];
  /** The station's longest publishing delay (segment end to manifest written) over the last 20 segments, at the session's end. */
  stationDelay: number;
  /** Wall seconds from Play to Stop, the manifest requests made meanwhile, and the CPU seconds the browser's processes used. */
  seconds: number;
  manifestRequests: number;
  cpuSeconds: number;
  /** From 20 s after Play to Stop (sessions that long): the manifest requests once past the search for the first arrival. */
  steady: { seconds: number; manifestRequests: number } | undefined;
}

export interface ProbeOptions {
  kind: BrowserKind;
  segmentSeconds: number;
  /** Points of the segment clock at which listeners press Play, in order, one listener after another. */
  phases: number[];
  /** Seconds each listener plays after the player says `playing`; one per phase, or one for all. */
  listenSeconds: number | number[];
  /** Before the first listener, this long with the page loaded and idle, for the browser's CPU at rest. */
  idleSeconds?: number;
}

/** CPU seconds (user + system) used so far by process `pid` and all its descendants (Linux /proc). */
export async function processTreeCpuSeconds(pid: number): Promise<number> {
  const stats: Array<{ pid: number; ppid: number; ticks: number }> = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    if (!text) continue;
    // Fields after the command (which may hold spaces) in parentheses: state ppid ... utime(14) stime(15).
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    stats.push({ pid: Number(name), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
  }
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of stats) {
      if (tree.has(p.pid) || !tree.has(p.ppid)) continue;
      tree.add(p.pid);
      grew = true;
    }
  }
  // Linux counts in clock ticks of 1/100 s.
  return stats.filter((p) => tree.has(p.pid)).reduce((sum, p) => sum + p.ticks, 0) / 100;
}

/**
 * Glass to ear, measured from outside: a live station publishing the marker tone on the wall clock,
 * the browser playing into a null sink recorded with parec, and one listener after another pressing
 * Play at the given points of the segment clock (and Stop after a few seconds), on one page. The
 * latency of a marker is when it was heard (the recording's clock) less when it was captured.
 */
export async function probeLatency({ kind, segmentSeconds, phases, listenSeconds, idleSeconds }: ProbeOptions): Promise<{ sessions: ListenerSession[]; pageErrors: string[]; idleCpuSeconds: number }> {
  const rig = await startListeningRig(kind, markerMaterial(segmentSeconds));
  const { pulse, station, app, browser } = rig;
  try {
    const page = await browser.newPage();
    await instrument(page);
    await page.goto(`${app.url}/`);
    const cpu = () => processTreeCpuSeconds(browser.process()!.pid!);
    let idleCpuSeconds = 0;
    if (idleSeconds) {
      const before = await cpu();
      await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
      idleCpuSeconds = (await cpu()) - before;
    }
    const requests = () => page.evaluate(() => document.querySelector('radio-player')!.stats.manifestRequests);
    const recorder = await recordSink(pulse.env);
    const sessions: ListenerSession[] = [];
    const segmentMs = segmentSeconds * 1000;
    let earliest = Date.now() + 500;
    for (const [i, phase] of phases.entries()) {
      // The next time the segment clock stands at `phase`, at least a second after the last Stop (silence between listeners).
      const at = Math.ceil((earliest - phase * segmentMs) / segmentMs) * segmentMs + phase * segmentMs;
      await new Promise((resolve) => setTimeout(resolve, at - Date.now()));
      const [requestsBefore, cpuBefore] = [await requests(), await cpu()];
      const pressedAt = Date.now();
      await click(page, 'play-button');
      await waitFor(page, 'playing', () => document.querySelector('radio-player')!.state === 'playing', undefined, 3 * segmentMs + 20_000);
      const seconds = Array.isArray(listenSeconds) ? listenSeconds[i]! : listenSeconds;
      const rates = new Set<number>();
      let steadyFrom: { at: number; requests: number } | undefined;
      for (const end = Date.now() + seconds * 1000; Date.now() < end; ) {
        if (!steadyFrom && Date.now() - pressedAt > 20_000) steadyFrom = { at: Date.now(), requests: await requests() };
        rates.add(await page.evaluate(() => (document.querySelector('radio-player')!.output as MediaElementAudioSourceNode | null)?.mediaElement.playbackRate ?? 1));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const reported = await page.evaluate(() => document.querySelector('radio-player')!.stats.latencySeconds);
      await click(page, 'play-button');
      sessions.push({
        phase, pressedAt, markers: [], latency: undefined, reported, rates: [...rates], stationDelay: station.publishDelay,
        seconds: (Date.now() - pressedAt) / 1000, manifestRequests: (await requests()) - requestsBefore, cpuSeconds: (await cpu()) - cpuBefore,
        steady: steadyFrom && { seconds: (Date.now() - steadyFrom.at) / 1000, manifestRequests: (await requests()) - steadyFrom.requests },
      });
      earliest = Date.now() + 1000;
    }
    const recording = await recorder.stop();
    const markers = heardMarkers(recording.samples, recording.startedAt);
    for (const [i, session] of sessions.entries()) {
      const until = sessions[i + 1]?.pressedAt ?? Infinity;
      session.markers = markers.filter((m) => m.heardAt > session.pressedAt && m.heardAt < until);
      const sorted = session.markers.map((m) => m.latency).sort((a, b) => a - b);
      session.latency = sorted.length ? sorted[Math.floor(sorted.length / 2)] : undefined;
    }
    return { sessions, pageErrors: (await records(page)).pageErrors, idleCpuSeconds };
  } finally {
    await stopListeningRig(rig);
  }
}
