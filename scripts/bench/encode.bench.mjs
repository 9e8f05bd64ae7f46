// Encode benchmark (issues 2 and 8): CPU seconds of `radio-server encode` against the native CLIs
// `flac -5` and `opusenc --bitrate 128` on the same generated input, run side by side. Target: ours <=
// 1.0x the two CLIs together. And the HQ stream's size (4000-frame FLAC blocks in fMP4) against
// `flac -5` (4096-frame blocks) on the same audio: within 1 %.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure } from './cpu.mjs';

const MINUTES = Number(process.env.BENCH_MINUTES ?? 3);
const RUNS = 5;
const dir = mkdtempSync(join(tmpdir(), 'radio-bench-encode-'));
const input = join(dir, 'programme.wav');
const cli = new URL('../../radio-server/dist/cli/main.js', import.meta.url).pathname;

// Music-like programme material: a chord of tones with vibrato, over pink noise, 24-bit stereo 48 kHz.
execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `sine=f=220:d=${MINUTES * 60},vibrato=f=5`, '-f', 'lavfi', '-i', `sine=f=331:d=${MINUTES * 60}`, '-f', 'lavfi', '-i', `anoisesrc=d=${MINUTES * 60}:c=pink:a=0.1`,
  '-filter_complex', '[0][1][2]amix=inputs=3,aformat=channel_layouts=stereo', '-ar', '48000', '-c:a', 'pcm_s24le', '-y', input]);

// Rounds interleave the three commands, so a change of load on the machine hits them alike.
const runs = { ours: [], flac: [], opus: [] };
for (let round = 0; round < RUNS; round++) {
  runs.ours.push(measure('node', [cli, 'encode', input, '--out', join(dir, 'out')]));
  runs.flac.push(measure('flac', ['-5', '-f', '--silent', '-o', join(dir, 'anchor.flac'), input]));
  runs.opus.push(measure('opusenc', ['--quiet', '--bitrate', '128', input, join(dir, 'anchor.opus')]));
}
const median = (results) => [...results].sort((a, b) => a.cpu - b.cpu)[Math.floor(results.length / 2)];
const ours = median(runs.ours);
const flac = median(runs.flac);
const opus = median(runs.opus);
const anchors = flac.cpu + opus.cpu;

const row = (name, m) => console.log(`${name.padEnd(34)} cpu ${m.cpu.toFixed(2).padStart(6)} s   wall ${m.wall.toFixed(2).padStart(6)} s   peak RSS ${m.maxRssMb.toFixed(0).padStart(4)} MB`);
console.log(`input: ${MINUTES} min of 24-bit stereo 48 kHz; median of ${RUNS} interleaved runs each`);
row('radio-server encode (HQ + LQ)', ours);
row('flac -5', flac);
row('opusenc --bitrate 128', opus);
console.log(`ratio: radio-server / (flac + opusenc) = ${(ours.cpu / anchors).toFixed(2)}x CPU (target <= 1.0x), ${(ours.wall / (flac.wall + opus.wall)).toFixed(2)}x wall`);
console.log(`speed: ${(MINUTES * 60 / ours.wall).toFixed(0)}x real time`);
const hqDir = join(dir, 'out', 'hq');
const hqBytes = readdirSync(hqDir).filter((f) => f.endsWith('.m4s') || f.startsWith('init-')).reduce((n, f) => n + statSync(join(hqDir, f)).size, 0);
const flacBytes = statSync(join(dir, 'anchor.flac')).size;
const per10s = (bytes) => ((bytes / (MINUTES * 60)) * 10 / 1e6).toFixed(3);
console.log(`HQ size: ${per10s(hqBytes)} MB per 10 s (init + fragments) vs flac -5 ${per10s(flacBytes)} MB: ${(100 * (hqBytes / flacBytes - 1)).toFixed(2)} % (target within 1 %)`);
rmSync(dir, { recursive: true, force: true });
