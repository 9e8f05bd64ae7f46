// Daemon benchmark (issues 3 and 8): CPU and RSS of `radio-server run` at real time (a looped file
// source at --speed 1, publishing to s3rver on loopback, the archive recording), measured side by side
// with its anchor in the same run: Liquidsoap 2.1 encoding the same input, in real time, to Opus 128k and
// FLAC files. Targets: at most Liquidsoap's CPU (ratio <= 1.0), RSS <= 100 MB and flat.
// BENCH_DAEMON_MINUTES (default 5) sets how long both are measured, after BENCH_DAEMON_WARMUP_SECONDS
// (default 15) of running unmeasured; the minute-by-minute line shows whether the ratio holds over the run.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

const WALL_MINUTES = Number(process.env.BENCH_DAEMON_MINUTES ?? 5);
const WARM_UP_MS = Number(process.env.BENCH_DAEMON_WARMUP_SECONDS ?? 15) * 1000;
const SAMPLE_MS = 5000;
const dir = mkdtempSync(join(tmpdir(), 'radio-bench-daemon-'));
const input = join(dir, 'programme.wav');
const cli = new URL('../../radio-server/dist/cli/main.js', import.meta.url).pathname;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
// The daemon as systemd runs it: the node options of the unit's ExecStart (e.g. --v8-pool-size).
const unit = readFileSync(new URL('../systemd/radio-server.service', import.meta.url), 'utf8');
const nodeOptions = /^ExecStart=\S+ (.*?)\S*\/cli\/main\.js run/m.exec(unit)[1].split(' ').filter(Boolean);

try {
  execFileSync('liquidsoap', ['--version'], { stdio: 'ignore' });
} catch {
  console.log('liquidsoap is not installed (the anchor of this benchmark): sudo apt-get install -y liquidsoap');
  process.exit(1);
}

execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=f=220:d=60,vibrato=f=5', '-f', 'lavfi', '-i', 'anoisesrc=d=60:c=pink:a=0.1',
  '-filter_complex', '[0][1]amix=inputs=2,aformat=channel_layouts=stereo', '-ar', '48000', '-c:a', 'pcm_s24le', '-y', input]);

// The anchor: the same work in Liquidsoap, the field's usual tool (decode once, encode to both formats).
const script = join(dir, 'anchor.liq');
writeFileSync(script, `
settings.init.allow_root.set(true)
settings.log.stdout.set(false)
settings.log.file.set(false)
settings.frame.audio.samplerate.set(48000)
s = mksafe(single(${JSON.stringify(input)}))
output.file(%flac(samplerate=48000, channels=2, compression=5, bits_per_sample=24), ${JSON.stringify(join(dir, 'anchor.flac'))}, s)
output.file(%opus(samplerate=48000, channels=2, bitrate=128, vbr="unconstrained", complexity=10, frame_size=20.), ${JSON.stringify(join(dir, 'anchor.opus'))}, s)
`);

const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: 'radio', configs: [] }] });
const { port } = await s3.run();
const daemon = spawn(process.execPath, [...nodeOptions, cli, 'run', '--source', `file:${input}`, '--loop', '--speed', '1'], {
  env: { ...process.env, R2_ENDPOINT: `http://127.0.0.1:${port}`, R2_BUCKET: 'radio', R2_ACCESS_KEY: 'S3RVER', R2_SECRET_KEY: 'S3RVER', METRICS_PORT: '0', RECORDINGS_DIR: join(dir, 'recordings') },
  stdio: ['ignore', 'ignore', 'ignore'],
});
const liquidsoap = spawn('liquidsoap', [script], { stdio: ['ignore', 'ignore', 'ignore'] });

/** CPU seconds (user + system) and RSS of a process, from /proc. */
function sample(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const cpu = (Number(stat[11]) + Number(stat[12])) / TICKS;
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  return { t: performance.now() / 1000, cpu, rssMb };
}

await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS)); // start-up is not the steady state
const samples = { daemon: [sample(daemon.pid)], liquidsoap: [sample(liquidsoap.pid)] };
const end = performance.now() + WALL_MINUTES * 60_000;
while (performance.now() < end) {
  await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  samples.daemon.push(sample(daemon.pid));
  samples.liquidsoap.push(sample(liquidsoap.pid));
}
daemon.kill('SIGTERM');
liquidsoap.kill('SIGTERM');
await Promise.all([new Promise((resolve) => daemon.once('exit', resolve)), new Promise((resolve) => liquidsoap.once('exit', resolve))]);
await s3.close();
rmSync(dir, { recursive: true, force: true });

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
function report(name, xs) {
  const first = xs[0];
  const last = xs.at(-1);
  const percent = (100 * (last.cpu - first.cpu)) / (last.t - first.t);
  const rss = xs.map((s) => s.rssMb);
  const half = Math.floor(rss.length / 2);
  console.log(`${name.padEnd(44)} cpu ${percent.toFixed(2).padStart(5)} % of one core   rss min ${Math.min(...rss).toFixed(0)} / max ${Math.max(...rss).toFixed(0)} MB, halves ${mean(rss.slice(0, half)).toFixed(0)} -> ${mean(rss.slice(half)).toFixed(0)} MB`);
  return percent;
}
console.log(`both at real time for ${WALL_MINUTES} min after a ${WARM_UP_MS / 1000} s warm-up, side by side on the same input; the daemon as its unit starts it (node ${[...nodeOptions, 'main.js run'].join(' ')})`);
const ours = report('radio-server run (HQ + LQ + archive, S3 PUTs)', samples.daemon);
const anchor = report('liquidsoap 2.1 (FLAC + Opus 128k files)', samples.liquidsoap);
console.log(`ratio radio-server / liquidsoap = ${(ours / anchor).toFixed(2)}x CPU (target <= 1.0), daemon RSS target <= 100 MB, flat`);
// By sample count, not by time: a minute is 12 whole 5 s intervals (6 segments), so each holds as many
// segment encodes as the next.
const SAMPLES_PER_MINUTE = 60_000 / SAMPLE_MS;
const perMinute = (xs, m) => {
  const [first, last] = [xs[m * SAMPLES_PER_MINUTE], xs[(m + 1) * SAMPLES_PER_MINUTE]];
  return first && last ? (100 * (last.cpu - first.cpu)) / (last.t - first.t) : NaN;
};
const minutes = Array.from({ length: Math.floor(WALL_MINUTES) }, (_, m) => `${(perMinute(samples.daemon, m) / perMinute(samples.liquidsoap, m)).toFixed(2)}x (${perMinute(samples.daemon, m).toFixed(2)} vs ${perMinute(samples.liquidsoap, m).toFixed(2)} %)`);
console.log(`ratio minute by minute: ${minutes.join(', ')}`);
