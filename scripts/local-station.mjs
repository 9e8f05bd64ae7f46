#!/usr/bin/env node
// The embedded default behind scripts/start: bucket (s3rver on loopback, unless .env names an R2 bucket),
// the capture daemon (the UMC404HD when present, else the test tone) and the listeners' web app.
// Ctrl-C (or SIGTERM) stops the daemon first, so its last manifest says live: false, then the rest.
// LOCAL_S3_PORT (default 9000) and LOCAL_S3_DIR (default .station/s3) place the loopback bucket.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const serverCli = join(root, 'radio-server/dist/cli/main.js');
const clientCli = join(root, 'radio-client/dist/server/node-main.js');
const WEB_PORT = Number(process.env.PORT ?? 8080);
const BUCKET = 'radio';
// s3rver's built-in account: fine on loopback, never a real credential.
const LOCAL_KEY = 'S3RVER';

if (existsSync(join(root, '.env'))) process.loadEnvFile(join(root, '.env'));
const env = { ...process.env };
const children = [];
let bucketServer;

function say(line) {
  process.stdout.write(`[station] ${line}\n`);
}

if (env.R2_ENDPOINT && env.R2_BUCKET) {
  say(`publishing to ${env.R2_ENDPOINT} bucket ${env.R2_BUCKET} (from .env)`);
  if (!env.R2_PUBLIC_URL) {
    say('R2_PUBLIC_URL is not set in .env: the player needs the bucket\'s public URL');
    process.exit(2);
  }
} else {
  const { default: S3rver } = await import('s3rver');
  const directory = process.env.LOCAL_S3_DIR ?? join(root, '.station/s3');
  mkdirSync(directory, { recursive: true });
  const cors = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule></CORSConfiguration>`;
  bucketServer = new S3rver({ address: '127.0.0.1', port: Number(process.env.LOCAL_S3_PORT ?? 9000), silent: true, directory, configureBuckets: [{ name: BUCKET, configs: [cors] }] });
  const { port: bucketPort } = await bucketServer.run();
  Object.assign(env, {
    R2_ENDPOINT: `http://127.0.0.1:${bucketPort}`,
    R2_BUCKET: BUCKET,
    R2_ACCESS_KEY: LOCAL_KEY,
    R2_SECRET_KEY: LOCAL_KEY,
    R2_PUBLIC_URL: `http://127.0.0.1:${bucketPort}/${BUCKET}`,
  });
  say(`local bucket: s3rver on http://127.0.0.1:${bucketPort}/${BUCKET} (data in ${directory})`);
}

const devices = spawnSync(process.execPath, [serverCli, 'devices'], { encoding: 'utf8' });
const hasInterface = /UMC404HD/i.test(devices.stdout ?? '');
const source = hasInterface ? 'portaudio' : 'tone';
say(hasInterface ? 'audio: the UMC404HD, inputs 1+2' : 'audio: no UMC404HD found, playing the test tone (440 Hz with an 880 Hz marker each second)');

function start(name, args, extraEnv = {}) {
  // Each child in its own process group: a terminal's Ctrl-C reaches only this script, which then stops
  // the daemon with one signal (a second one would make it exit at once, before it signs off).
  const child = spawn(process.execPath, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping the station`);
      void stop(typeof code === 'number' && code !== 0 ? code : 1);
    }
  });
  children.push({ name, child });
  return child;
}

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  say('stopping: the daemon signs off (live: false), then the web app and the bucket');
  const exited = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve)));
  for (const { child } of children) {
    child.kill('SIGTERM');
    await exited(child);
  }
  await bucketServer?.close();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// Should this script die some other way, its detached children must not outlive it.
process.on('exit', () => {
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});

start('radio-server', [serverCli, 'run', '--source', source]);
start('radio-client', [clientCli], { PORT: String(WEB_PORT) });
say(`open http://127.0.0.1:${WEB_PORT}/ to listen (Ctrl-C stops everything)`);
