import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const UNIT = join(CHECKOUT, 'scripts/systemd/radio-server.service');
const INSTALL = join(CHECKOUT, 'scripts/install-systemd');

/** Runs a command to its end: exit code and everything it printed. */
function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: tmpdir() });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The unit's settings, section by section, each key with all its values in order. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let section: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) sections[header[1]!] = section = {};
    const setting = /^(\w+)=(.*)$/.exec(line);
    if (setting) (section[setting[1]!] ??= []).push(setting[2]!);
  }
  return sections;
}

describe('scripts/systemd/radio-server.service', () => {
  let dir: string;
  let unitText: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'radio-unit-'));
    unitText = await readFile(UNIT, 'utf8');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The unit as install-systemd writes it for this checkout and this node (verify needs ExecStart's binary to exist). */
  async function unitForThisCheckout(name = 'radio-server.service', text = unitText): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text.replaceAll('/opt/radio', CHECKOUT).replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
    return path;
  }

  it('passes systemd-analyze verify with no complaint', async () => {
    const path = await unitForThisCheckout();
    expect(await readFile(path, 'utf8')).toContain(`ExecStart=${process.execPath} --v8-pool-size=1 ${CHECKOUT}/radio-server/dist/cli/main.js run`);
    const verify = run('systemd-analyze', ['verify', path]);
    expect(verify).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('the same check catches a broken unit (so its silence above means something)', async () => {
    const broken = await unitForThisCheckout('radio-server-broken.service', unitText.replace('Restart=always', 'Restart=sometimes').replace('TimeoutStopSec=35', 'TimeoutStopSecs=35'));
    const verify = run('systemd-analyze', ['verify', broken]);
    expect(verify.stderr).toContain('Failed to parse service restart specifier');
    expect(verify.stderr).toContain("Unknown key 'TimeoutStopSecs'");
  });

  it('is hardened: systemd-analyze security rates its exposure 2.5 or less', async () => {
    const path = await unitForThisCheckout();
    const security = run('systemd-analyze', ['security', '--offline=true', '--threshold=25', '--no-pager', path]);
    expect(security.stdout).toMatch(/Overall exposure level for radio-server\.service: [0-2]\.\d/);
    expect(security.code).toBe(0);
  });

  it('has what the issue asks of it', () => {
    const { Unit, Service, Install } = parseUnit(unitText);
    expect(Unit!.After!.join(' ').split(/\s+/)).toEqual(expect.arrayContaining(['network-online.target', 'time-sync.target']));
    expect(Unit!.Wants!.join(' ').split(/\s+/)).toEqual(expect.arrayContaining(['network-online.target', 'time-sync.target']));
    expect(Service).toMatchObject({
      EnvironmentFile: ['/etc/radio-server/secrets.env'],
      User: ['radio'],
      SupplementaryGroups: ['audio'],
      WorkingDirectory: ['/opt/radio'],
      ExecStart: ['/usr/bin/node --v8-pool-size=1 /opt/radio/radio-server/dist/cli/main.js run'],
      Restart: ['always'],
      TimeoutStopSec: ['35'],
      KillSignal: ['SIGTERM'],
      ProtectSystem: ['strict'],
      ProtectHome: ['yes'],
      PrivateTmp: ['yes'],
      NoNewPrivileges: ['yes'],
      DevicePolicy: ['closed'],
      DeviceAllow: ['char-alsa rw'],
    });
    expect(Service!.ReadWritePaths!.join(' ').split(/\s+/).sort()).toEqual(['/var/lib/radio/recordings', '/var/lib/radio/staging']);
    expect(Service!.Environment).toEqual(expect.arrayContaining(['RECORDINGS_DIR=/var/lib/radio/recordings', 'STAGING_DIR=/var/lib/radio/staging', 'METRICS_PORT=9464']));
    expect(Install).toEqual({ WantedBy: ['multi-user.target'] });
  });
});

describe('scripts/install-systemd', () => {
  it('--dry-run lists every step and changes nothing', () => {
    const before = existsSync('/etc/systemd/system/radio-server.service');
    const result = run(INSTALL, ['--dry-run']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    // Each step is either planned ("would ...") or found done already on this machine.
    expect(out).toMatch(/would run: useradd .*--groups audio .*radio|user radio exists and is in group audio|would run: usermod --append --groups audio radio/);
    for (const dir of ['/var/lib/radio/recordings', '/var/lib/radio/staging']) expect(out).toMatch(new RegExp(`would run: install -d -o radio -g radio -m 0750 ${dir}|${dir} exists`));
    expect(out).toMatch(/would run: install -o root -g radio -m 0600 .*\.env\.example \/etc\/radio-server\/secrets\.env|secrets\.env exists/);
    expect(out).toMatch(/would write \/etc\/systemd\/system\/radio-server\.service|radio-server\.service is up to date/);
    expect(out).toMatch(/would run: systemctl enable radio-server\.service|radio-server\.service is enabled/);
    expect(out).toMatch(/dry run: nothing was changed\n$/);
    expect(existsSync('/etc/systemd/system/radio-server.service')).toBe(before);
  });

  it('refuses an unknown option with exit 2', () => {
    expect(run(INSTALL, ['--force'])).toEqual({ code: 2, stdout: '', stderr: 'install-systemd: unknown option --force (try --help)\n' });
  });
});
