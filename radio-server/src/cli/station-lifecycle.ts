import type { AssembledStation } from './assemble-station.js';
import { SIGN_OFF_TIMEOUT_MS } from './assemble-station.js';

/**
 * How long a stop may spend on unsent segments before the final manifest: with the sign-off's own 7 s and
 * the archive's close, a stop ends inside systemd's 35 s (TimeoutStopSec) whatever the endpoint does.
 */
export const SHUTDOWN_UPLOAD_DEADLINE_MS = 18_000;
/** The recording is closed while the last uploads run; after them it may take this much longer. */
const ARCHIVE_CLOSE_WAIT_MS = 4000;

const within = (task: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([task.then(() => true, () => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]).finally(() => clearTimeout(timer));
};

/**
 * Runs an assembled station until it is off air: SIGTERM/SIGINT stop capture, the shutdown deadline
 * aborts the uploads (every request in flight, every retry wait), the final manifest gets its own few
 * seconds, the recording is closed (bounded: a hung disk must not hold the stop). A second signal exits at
 * once. Resolves with the exit code: 0 when the station signed off cleanly, 1 when it could not (the
 * manifest still says live: true), never went on air, or the source stopped delivering audio.
 */
export async function runLifecycle(assembled: AssembledStation, shutdown: AbortController): Promise<number> {
  const { station, log } = assembled;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    log.info({ signal }, `${signal}: stopping capture, publishing what was captured (at most ${SHUTDOWN_UPLOAD_DEADLINE_MS / 1000} s, then ${SIGN_OFF_TIMEOUT_MS / 1000} s to sign off)`);
    station.stop();
    setTimeout(() => {
      if (!shutdown.signal.aborted) log.warn(`shutdown deadline (${SHUTDOWN_UPLOAD_DEADLINE_MS / 1000} s): giving up on unsent segments and requests in flight`);
      shutdown.abort(Object.assign(new Error('shutdown deadline'), { name: 'AbortError' }));
    }, SHUTDOWN_UPLOAD_DEADLINE_MS).unref();
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  try {
    const summary = await station.run();
    if (!(await within(assembled.recordingClosed(), ARCHIVE_CLOSE_WAIT_MS))) {
      log.error(`archive: the recording could not be closed within ${ARCHIVE_CLOSE_WAIT_MS / 1000} s (the recordings disk hangs?): it stays in staging and is repaired at the next start`);
    }
    await within(assembled.recovery, 1000);
    log.info(summary, `published ${summary.published} segments, dropped ${summary.dropped}${summary.wentOnAir ? '' : '; never on air (the store never answered)'}`);
    return summary.signedOff && !summary.captureStalled ? 0 : 1;
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
  }
}
