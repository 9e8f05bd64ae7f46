// Daemon benchmark (issue 3): CPU and RSS of `radio-server run` playing a file source at --speed 10 into
// s3rver on loopback for a few minutes. Targets: under 3 % of one core per real-time minute of audio
// (CPU seconds / audio seconds), RSS flat and under 150 MB. The native anchor, run on the same input side
// by side: what the CLIs `flac -5` (twice: HQ segments and the archive) and `opusenc --bitrate 128` spend
// on the encoding work alone.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { measure } from './cpu.mjs';

const WALL_MINUTES = Number(process.env.BENCH_DAEMON_MINUTES ?? 2);
const SPEED = 10;
const dir = mkdtempSync(join(tmpdir(), 'radio-bench-daemon-'));
const input = join(dir, 'programme.wav');
const cli = new URL('../../radio-server/dist/cli/main.js', import.meta.url).pathname;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=f=220:d=60,vibrato=f=5', '-f', 'lavfi', '-i', 'anoisesrc=d=60:c=pink:a=0.1',
  '-filter_complex', '[0][1]amix=inputs=2,aformat=channel_layouts=stereo', '-ar', '48000', '-c:a', 'pcm_s24le', '-y', input]);

const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: 'radio', configs: [] }] });
const { port } = await s3.run();
const daemon = spawn(process.execPath, [cli, 'run', '--source', `file:${input}`, '--loop', '--speed', String(SPEED)], {
  env: { ...process.env, R2_ENDPOINT: `http://127.0.0.1:${port}`, R2_BUCKET: 'radio', R2_ACCESS_KEY: 'S3RVER', R2_SECRET_KEY: 'S3RVER' },
  stdio: ['ignore', 'ignore', 'ignore'],
});

function sample() {
  const stat = readFileSync(`/proc/${daemon.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const cpu = (Number(stat[11]) + Number(stat[12])) / TICKS; // utime + stime
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))[1]) / 1024;
  return { t: performance.now() / 1000, cpu, rssMb };
}

const samples = [];
const end = performance.now() + WALL_MINUTES * 60_000;
await new Promise((resolve) => setTimeout(resolve, 5000)); // start-up is not the steady state
const first = sample();
while (performance.now() < end) {
  await new Promise((resolve) => setTimeout(resolve, 5000));
  samples.push(sample());
}
const last = samples.at(-1);
daemon.kill('SIGTERM');
await new Promise((resolve) => daemon.once('exit', resolve));
await s3.close();

const INPUT_SECONDS = 60;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const anchorRuns = [];
for (let round = 0; round < 3; round++) {
  const flac = measure('flac', ['-5', '-f', '--silent', '-o', join(dir, 'anchor.flac'), input]).cpu;
  const opus = measure('opusenc', ['--quiet', '--bitrate', '128', input, join(dir, 'anchor.opus')]).cpu;
  anchorRuns.push(2 * flac + opus);
}
const anchorPercent = (100 * median(anchorRuns)) / INPUT_SECONDS;
rmSync(dir, { recursive: true, force: true });

const audioSeconds = (last.t - first.t) * SPEED;
const cpuSeconds = last.cpu - first.cpu;
const rss = samples.map((s) => s.rssMb);
const half = Math.floor(rss.length / 2);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`radio-server run --source file --speed ${SPEED}: ${(audioSeconds / 60).toFixed(1)} min of audio in ${((last.t - first.t) / 60).toFixed(1)} min`);
const daemonPercent = (100 * cpuSeconds) / audioSeconds;
console.log(`cpu: ${cpuSeconds.toFixed(1)} s for ${audioSeconds.toFixed(0)} s of audio = ${daemonPercent.toFixed(2)} % of one core in real time (target < 3 %)`);
console.log(`anchor: flac -5 (x2) + opusenc --bitrate 128 = ${anchorPercent.toFixed(2)} % of one core in real time; ratio radio-server / anchor = ${(daemonPercent / anchorPercent).toFixed(2)}x`);
console.log(`rss: min ${Math.min(...rss).toFixed(0)} MB, max ${Math.max(...rss).toFixed(0)} MB, first half mean ${mean(rss.slice(0, half)).toFixed(0)} MB, second half mean ${mean(rss.slice(half)).toFixed(0)} MB (target flat, < 150 MB)`);
