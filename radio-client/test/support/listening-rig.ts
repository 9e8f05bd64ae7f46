import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { startPulseSink, type PulseSink } from '../../../radio-server/src/testing/pulse-sink.ts';
import { launchBrowser, serveApp, type BrowserKind } from './browser.ts';
import { LiveStation } from './live-station.ts';
import type { StationMaterial } from './station-material.ts';

/** What a browser e2e file starts once: a live station, the app serving its page, a null sink as the sound card, and a browser playing into it. */
export interface ListeningRig {
  dir: string;
  pulse: PulseSink;
  station: LiveStation;
  app: { url: string; close(): Promise<void> };
  browser: Browser;
}

/** Starts the rig for `kind` on `material`; on a failure, what was started is stopped again. */
export async function startListeningRig(kind: BrowserKind, material: StationMaterial): Promise<ListeningRig> {
  const rig: Partial<ListeningRig> = {};
  try {
    rig.dir = await mkdtemp(join(tmpdir(), `radio-client-${kind}-`));
    rig.pulse = await startPulseSink();
    rig.station = await LiveStation.start(material);
    rig.app = await serveApp(join(rig.dir, 'assets'), rig.station.publicUrl);
    rig.browser = await launchBrowser(kind, { env: rig.pulse.env });
    return rig as ListeningRig;
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
