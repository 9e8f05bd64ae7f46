import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { startPulseSink, type PulseSink } from '../../../radio-server/src/testing/pulse-sink.ts';
import { launchBrowser, serveApp, type BrowserKind } from './browser.ts';
import { LiveStation } from './live-station.ts';
import type { StationMaterial } from './station-material.ts';

/** A live station, the app serving its page, and a null sink as the sound card: what a browser e2e file starts once. */
export interface StationRig {
  dir: string;
  pulse: PulseSink;
  station: LiveStation;
  app: { url: string; close(): Promise<void> };
}

/** The station rig with a puppeteer browser (Chromium or Firefox) playing into its sink. */
export interface ListeningRig extends StationRig {
  browser: Browser;
}

/** Starts the station rig on `material`; on a failure, what was started is stopped again. */
export async function startStationRig(material: StationMaterial, name = 'radio-client-'): Promise<StationRig> {
  const rig: Partial<StationRig> = {};
  try {
    rig.dir = await mkdtemp(join(tmpdir(), name));
    rig.pulse = await startPulseSink();
    rig.station = await LiveStation.start(material);
    rig.app = await serveApp(join(rig.dir, 'assets'), rig.station.publicUrl);
    return rig as StationRig;
  } catch (error) {
    await stopListeningRig(rig);
    throw error;
  }
}

/** Starts the rig for `kind` on `material`; on a failure, what was started is stopped again. */
export async function startListeningRig(kind: BrowserKind, material: StationMaterial): Promise<ListeningRig> {
  const rig = await startStationRig(material, `radio-client-${kind}-`);
  try {
    return { ...rig, browser: await launchBrowser(kind, { env: rig.pulse.env }) };
  } catch (error) {
    await stopListeningRig(rig);
    throw error;
  }
}

/** Stops what of the rig was started, the browser first. */
export async function stopListeningRig(rig: Partial<ListeningRig>): Promise<void> {
  await rig.browser?.close();
  await rig.app?.close();
  await rig.station?.stop();
  await rig.pulse?.stop();
  if (rig.dir) await rm(rig.dir, { recursive: true, force: true });
}
