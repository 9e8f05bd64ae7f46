import type { SourceRequest } from '../capture/open-source.js';
import type { Logger } from '../ops/logger.js';
import type { StatusLine } from '../ops/status-line.js';
import { assembleStation } from './assemble-station.js';
import type { DaemonConfig } from './config.js';
import { runLifecycle } from './station-lifecycle.js';

export interface RunOptions extends SourceRequest {
  segmentSeconds: number;
  window: number;
  keepExtra: number;
  flacLevel: number;
  opusBitrate: number;
  /** Dead air: RMS under `deadAirDbfs` for `deadAirSeconds`. */
  deadAirDbfs: number;
  deadAirSeconds: number;
  /** The source delivering nothing for this long ends the run with exit code 1 (see Station). */
  stallSeconds: number;
  /** Go on air even while another daemon is on this bucket and prefix (it stops at its next segment). */
  takeover?: boolean;
}

/**
 * `radio-server run`: the live station. Assembles it (cli/assemble-station.ts), runs it until it is off
 * air (cli/station-lifecycle.ts), then releases everything. Resolves with the exit code (see runLifecycle).
 */
export async function runStation(config: DaemonConfig, options: RunOptions, log: Logger, status?: StatusLine): Promise<number> {
  const shutdown = new AbortController();
  const assembled = await assembleStation(config, options, log, status, shutdown.signal);
  try {
    return await runLifecycle(assembled, shutdown);
  } finally {
    await assembled.release();
  }
}
