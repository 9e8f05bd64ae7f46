import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const workspace = fileURLToPath(new URL('..', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));
const DENO = `${repo}node_modules/.bin/deno`;
/** Starting Deno the first time compiles the sources; allow for a slow, busy machine. */
const START_DEADLINE_MS = 30_000;

/** The workspace's `radio-client` bin, run as a program (its shebang and mode bits count too). */
const BIN = (JSON.parse(readFileSync(`${workspace}package.json`, 'utf8')) as { bin: Record<string, string> }).bin['radio-client']!;

const ENTRIES = {
  deno: [DENO, ['run', '--allow-net', '--allow-env', '--allow-read', 'radio-client/main.tsx']],
  node: [`${workspace}${BIN}`, []],
} as const;

const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    // The whole group: npm's `deno` is a Node wrapper that runs the real binary as its own child.
    const exited = once(child, 'exit');
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
});

function start(entry: keyof typeof ENTRIES, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const [command, args] = ENTRIES[entry];
  const child = spawn(command, args, {
    cwd: repo,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** Starts an entry on an ephemeral loopback port and resolves with its base URL once it says it listens. */
async function listen(entry: keyof typeof ENTRIES): Promise<string> {
  const { child, output } = start(entry, { PORT: '0', HOST: '127.0.0.1', R2_PUBLIC_URL: 'http://127.0.0.1:9/radio', STATION_NAME: `${entry} FM` });
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output());
    if (match) return match[1]!;
    if (child.exitCode !== null) throw new Error(`${entry} entry exited with ${child.exitCode}: ${output()}`);
    if (Date.now() > deadline) throw new Error(`${entry} entry did not listen within ${START_DEADLINE_MS} ms: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(['deno', 'node'] as const)('the %s entry', (entry) => {
  it('serves the station page, the player bundle and the health check', async () => {
    const base = await listen(entry);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Security-Policy')).toContain('connect-src http://127.0.0.1:9;');
    const html = await page.text();
    expect(html).toContain(`<h1>${entry} FM</h1>`);
    const script = /<script type="module" src="(\/assets\/radio-player\.[\w-]+\.js)">/.exec(html)?.[1];
    expect(script).toBeDefined();
    const bundle = await fetch(`${base}${script}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(await bundle.text()).toContain('radio-player');
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    expect((await fetch(`${base}/missing`)).status).toBe(404);
  });

  it('refuses a bad setting with one sentence and exit code 1', async () => {
    const { child, output } = start(entry, { R2_PUBLIC_URL: 'pub-1234.r2.dev' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output().trim()).toBe('radio-client: R2_PUBLIC_URL must be the public http(s) URL of the bucket, e.g. https://pub-1234.r2.dev');
  });
});
