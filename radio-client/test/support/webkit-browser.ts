import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { Builder, By, Capabilities, type WebDriver } from 'selenium-webdriver';
import { freePort } from '../../../radio-server/src/testing/free-port.ts';
import { DEADLINE_MS, waitFor } from './player-page.ts';

/**
 * WebKitGTK's MiniBrowser, WebKit's engine with GStreamer for media (the nearest to Safari that runs
 * here), under Xvfb (it has no headless mode), driven over classic WebDriver by WebKitWebDriver and
 * selenium-webdriver (asking for BiDi fails to create the session). Classic WebDriver reports no
 * console or page errors: {@link WebKitPage.instrument} hooks them in the page.
 */
export interface WebKitPage {
  driver: WebDriver;
  /** Runs `fn` in the page (its source is sent, so it must not close over anything) and returns its result. */
  evaluate<T, A = undefined>(fn: (arg: A) => T, arg?: A): Promise<Awaited<T>>;
  /** Records uncaught errors, unhandled rejections and the player's states from now on. */
  instrument(): Promise<void>;
  pageErrors(): Promise<string[]>;
  /** The player's `statechange` events since `instrument`, each with its time. */
  playerStates(): Promise<string[]>;
  /** A real click on the `part` of the player's shadow root. */
  click(part: string, host?: string): Promise<void>;
  /** Polls `predicate` in the page every 100 ms until it holds, or fails at the deadline saying what it waited for. */
  waitFor<A>(what: string, predicate: (arg: A) => boolean, arg?: A, deadlineMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The MiniBrowser binary of the installed WebKitGTK (its path depends on the architecture). */
function miniBrowserPath(): string {
  const files = execFileSync('dpkg', ['-L', 'libwebkit2gtk-4.1-0'], { encoding: 'utf8' }).split('\n');
  const path = files.find((f) => f.endsWith('/MiniBrowser'));
  if (!path) throw new Error('MiniBrowser not found in libwebkit2gtk-4.1-0 (scripts/setup installs webkit2gtk-driver)');
  return path;
}

/** Starts Xvfb on a display it picks itself (-displayfd), and resolves with that display. */
function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  xvfb.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let number = '';
    xvfb.stdio[3]!.on('data', (chunk: Buffer) => {
      number += chunk.toString();
      if (number.includes('\n')) resolve({ display: `:${number.trim()}`, process: xvfb });
    });
    xvfb.once('exit', (code) => reject(new Error(`Xvfb exited with ${code}: ${stderr.trim()}`)));
  });
}

async function waitForDriver(port: number, driver: ChildProcess): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    if (driver.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${driver.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.ok, () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`WebKitWebDriver did not answer on port ${port} within ${DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** MiniBrowser at `url`, playing into `env`'s sound server (a PulseAudio null sink). */
export async function openWebKitPage(url: string, env: Record<string, string>): Promise<WebKitPage> {
  const stops: Array<() => unknown> = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const xvfb = await startXvfb();
    stops.push(() => xvfb.process.kill());
    const port = await freePort();
    const webDriver = spawn('WebKitWebDriver', [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, ...env, DISPLAY: xvfb.display } });
    stops.push(() => webDriver.kill());
    await waitForDriver(port, webDriver);
    const capabilities = new Capabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: miniBrowserPath(), args: ['--automation'] } });
    const driver = await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities(capabilities).build();
    stops.push(() => driver.quit().catch(() => undefined));
    await driver.get(url);
    const evaluate = <T, A>(fn: (arg: A) => T, arg?: A) => driver.executeScript(`return (${fn.toString()})(arguments[0])`, arg) as Promise<Awaited<T>>;
    return {
      driver,
      evaluate,
      instrument: () =>
        evaluate(() => {
          const w = window as unknown as { pageErrors: string[] };
          w.pageErrors = [];
          window.addEventListener('error', (event) => w.pageErrors.push(`uncaught: ${event.message}`));
          window.addEventListener('unhandledrejection', (event) => w.pageErrors.push(`unhandled rejection: ${(event.reason as Error | undefined)?.message ?? String(event.reason)}`));
          // The player's states with the page's clock (ms), for a failure to tell what happened when.
          const states: string[] = ((window as unknown as { playerStates: string[] }).playerStates = []);
          const started = performance.now();
          document.addEventListener('statechange', (event) => {
            const e = event as Event & { state: string; message: string };
            states.push(`${Math.round(performance.now() - started)} ms ${e.state}: ${e.message}`);
          }, true);
        }),
      pageErrors: () => evaluate(() => (window as unknown as { pageErrors: string[] }).pageErrors),
      playerStates: () => evaluate(() => (window as unknown as { playerStates: string[] }).playerStates),
      async click(part, host = 'radio-player') {
        const root = await driver.findElement(By.css(host)).getShadowRoot();
        await (await root.findElement(By.css(`[part="${part}"]`))).click();
      },
      waitFor(what, predicate, arg, deadlineMs) {
        return waitFor({ evaluate }, what, predicate, arg, deadlineMs);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
