import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../publish/s3-store.js';
import { memoryLogger } from '../publish/testing/memory-log.js';
import { startS3TestServer } from '../publish/testing/s3-test-server.js';
import { decodeListedHq, readManifest } from '../testing/bucket-reader.js';
import { startDaemon, storageEnv, waitFor } from '../testing/daemon.js';
import { musicLike } from '../testing/signals.js';
import { CAPTURE_BLOCK_FRAMES } from './pcm-source.js';

// A capture device without audio hardware: ALSA's file plugin serves a raw file as the capture PCM,
// under a name like the station's interface (see docs/testing.md). PortAudio lists PCMs from ~/.asoundrc.
let home: string;
let raw: Buffer;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'radio-alsa-'));
  const signal = musicLike(2 * 48000);
  raw = Buffer.alloc(signal.samples.length * 3);
  signal.samples.forEach((v, i) => raw.writeIntLE(v, i * 3, 3));
  await writeFile(join(home, 'programme.s24le'), raw);
  await writeFile(join(home, '.asoundrc'), `
pcm.umcfile {
  type file
  slave.pcm "null"
  file "/dev/null"
  infile "${join(home, 'programme.s24le')}"
  format "raw"
}
pcm.UMC404HD_test {
  type plug
  slave { pcm "umcfile" format S24_3LE rate 48000 channels 2 }
  hint { show on description "UMC404HD 192k test" }
}
`);
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('radio-server devices', () => {
  it('lists the test interface PortAudio sees through ALSA', async () => {
    const d = startDaemon(['devices'], { HOME: home });
    expect(await d.exited).toBe(0);
    expect(d.output()).toMatch(/^ {2}UMC404HD_test \(\d+ inputs, ALSA\)$/m);
  });
});

describe('radio-server run --source portaudio', () => {
  it('names the devices there are when none matches', async () => {
    const d = startDaemon(['run', '--device', 'Scarlett'], { HOME: home, R2_ENDPOINT: 'http://127.0.0.1:1', R2_BUCKET: 'radio', R2_ACCESS_KEY: 'AKIA', R2_SECRET_KEY: 'secret' });
    expect(await d.exited).toBe(2);
    expect(d.output()).toContain('radio-server: no input device matches "Scarlett"; pick one with --device. Available input devices:\n');
    expect(d.output()).toMatch(/^ {2}UMC404HD_test \(\d+ inputs, ALSA\)$/m);
  });
});

describe('PortAudioSource', () => {
  it('delivers blocks of 100 ms, as the file source does (naudiodon alone reads 57 ms chunks)', async () => {
    // In its own process: PortAudio reads ~/.asoundrc when it starts.
    const source = new URL('../../dist/capture/portaudio-source.js', import.meta.url).href;
    const script = `import { PortAudioSource } from ${JSON.stringify(source)};
const s = new PortAudioSource({ device: 'UMC404HD', inputs: [1, 2] });
const sizes = [];
for await (const block of s.blocks()) { sizes.push(block.length); if (sizes.length === 5) s.stop(); }
console.log(JSON.stringify(sizes));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '', HOME: home } });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual(Array(5).fill(CAPTURE_BLOCK_FRAMES * 2));
  });
});

describe('radio-server run --source portaudio, through naudiodon', () => {
  /** Runs the daemon on the test interface until more than the file is published; returns what was. */
  async function capture(...flags: string[]): Promise<{ published: Int32Array; output: string }> {
    const server = await startS3TestServer();
    const store = new S3Store({ target: server.target, log: memoryLogger().log });
    try {
      const d = startDaemon(['run', '--device', 'UMC404HD', '--segment-seconds', '1', '--window', '100', ...flags], { HOME: home, ...storageEnv(server.target) });
      // The file plugin delivers the file (faster than real time: its slave is the null PCM), then
      // whatever follows; wait until more than the file has been published.
      await waitFor('3 segments published', async () => ((await readManifest(store))?.streams.hq.segments.length ?? 0) >= 3, 30_000);
      d.process.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      return { published: await decodeListedHq(store, (await readManifest(store))!, home), output: d.output() };
    } finally {
      store.destroy();
      await server.stop();
    }
  }

  it('publishes what the interface delivers, bit for bit', async () => {
    const { published, output } = await capture();
    expect(output).toContain('capturing UMC404HD_test, inputs 1+2, 24-bit 48000 Hz');
    const captured = Buffer.alloc(published.length * 3);
    published.forEach((v, i) => captured.writeIntLE(v, i * 3, 3));
    expect(captured.length).toBeGreaterThan(raw.length);
    expect(captured.subarray(0, raw.length).equals(raw)).toBe(true);
  });

  it('takes the stereo pair from the inputs --channels names, in that order', async () => {
    const { published, output } = await capture('--channels', '2,1');
    expect(output).toContain('inputs 2+1');
    const frames = raw.length / 6;
    for (let f = 0; f < frames; f++) {
      expect(published[f * 2]).toBe(raw.readIntLE(f * 6 + 3, 3));
      expect(published[f * 2 + 1]).toBe(raw.readIntLE(f * 6, 3));
    }
  });
});
