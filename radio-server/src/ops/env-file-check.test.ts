import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkEnvFilePermissions } from './env-file-check.js';
import { createLogger } from './logger.js';

const SECRET = 'k3ZpYg7sTtNq0xW9';

describe(checkEnvFilePermissions.name, () => {
  let dir: string;
  let lines: string[];
  const log = () => createLogger({ pretty: false, destination: { write: (line) => lines.push(line) } });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'env-file-check-'));
    lines = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function envFile(name: string, mode: number, text = `R2_ACCESS_KEY=abc\nR2_SECRET_KEY=${SECRET}\n`): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    await chmod(path, mode); // explicit: writeFile's mode is cut by the umask
    return path;
  }

  it('warns once, naming the file and the chmod fix, when the file is readable by all (0644)', async () => {
    const path = await envFile('.env', 0o644);
    expect(await checkEnvFilePermissions(log(), [path])).toEqual([path]);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: number; msg: string };
    expect(line.level).toBe(40);
    expect(line.msg).toBe(`${path} holds R2_SECRET_KEY and is readable by its group and all users (mode 0644): run \`chmod 600 ${path}\``);
    expect(lines[0]).not.toContain(SECRET);
  });

  it('warns when only the group may read it (0640)', async () => {
    const path = await envFile('secrets.env', 0o640);
    await checkEnvFilePermissions(log(), [path]);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([`${path} holds R2_SECRET_KEY and is readable by its group (mode 0640): run \`chmod 600 ${path}\``]);
  });

  it('is silent for 0600, for a missing file, and for a file without the secret key', async () => {
    const privateFile = await envFile('secrets.env', 0o600);
    const noSecret = await envFile('.env', 0o644, 'STATION_NAME=KXYZ\nR2_SECRET_KEY=\n');
    expect(await checkEnvFilePermissions(log(), [privateFile, noSecret, join(dir, 'missing.env')])).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('reads relative paths from the working directory, as dotenv does', async () => {
    const path = await envFile('.env', 0o604, `export R2_SECRET_KEY=${SECRET}\n`);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await checkEnvFilePermissions(log(), ['.env'])).toEqual([path]);
    } finally {
      process.chdir(cwd);
    }
    expect(lines[0]).toContain('readable by all users (mode 0604)');
  });
});
