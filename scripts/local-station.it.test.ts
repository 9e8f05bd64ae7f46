import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../radio-server/src/testing/daemon.js';
import { freePort } from '../radio-server/src/testing/free-port.js';

const script = new URL('./local-station.mjs', import.meta.url).pathname;

describe('scripts/start (local-station.mjs), the embedded default', () => {
  it('serves the station, and Ctrl-C in its terminal lets the daemon sign off (live: false) before everything exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-station-'));
    const port = await freePort();
    const { R2_ENDPOINT: _e, R2_BUCKET: _b, ...env } = process.env;
    // Its own process group, as a shell's foreground job: Ctrl-C signals the whole group.
    const station = spawn(process.execPath, [script], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, LOCAL_S3_PORT: '0', LOCAL_S3_DIR: join(dir, 's3'), PORT: String(port), METRICS_PORT: '0', RECORDINGS_DIR: join(dir, 'recordings'), STAGING_DIR: join(dir, 'staging') },
    });
    let output = '';
    station.stdout.on('data', (d: Buffer) => (output += d.toString()));
    station.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | string>((resolve) => station.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

    await waitFor('the daemon on air', () => output.includes('on air from segment'), 60_000);
    const page = await waitFor('the station page', () => fetch(`http://127.0.0.1:${port}/`).then((r) => (r.ok ? r.text() : undefined), () => undefined));
    expect(page).toContain('<radio-player');

    process.kill(-station.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('station off air: manifest says live: false');
    expect(output).not.toContain('second signal');
  }, 90_000);
});
