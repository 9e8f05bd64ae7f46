// Benchmarks of radio-client (run by `npm run bench` after `npm run build`), all on 127.0.0.1:
//  1. time from a click on Play to the first audible output, in headless Chromium, 10 s segments
//     made by `radio-server encode` and served by s3rver (target < 1.5 s);
//  2. the player bundle's gzipped size (target < 30 KB);
//  3. requests/second of GET / from @hono/node-server, beside the same bytes from plain node:http,
//     measured by a small keep-alive load generator (one request in flight per connection);
//  4. with a live station on the wall clock (the daemon's encoders and Publisher on s3rver) and
//     headless Chromium playing into a PulseAudio null sink (radio-client/test/support/player-bench.ts,
//     run with vite-node): glass-to-ear latency for listeners pressing Play at evenly spread points
//     of the segment clock, at 2 s and 10 s segments (targets <= 4 s and <= 13 s), manifest requests
//     per listener-hour (from a minute of listening), the browser's CPU over that minute, and the
//     latency held over a long listen (BENCH_PLAYER_SOAK_MINUTES, default 10; the hour: 60).
// Prints one line per figure; exits 0 unless something could not be measured at all.
import { execFile, fork } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const PLAY_RUNS = 5;
const LOAD_SECONDS = 5;
const LOAD_CONNECTIONS = 32;
const AUDIBLE_RMS = 0.02;

if (process.argv[2] === '--serve') await serveForLoad(process.argv[3]);
else await main();

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'radio-client-bench-'));
  try {
    await benchBundleSize();
    await benchPlayToAudio(dir);
    await benchRequestsPerSecond();
    await benchLivePlayer();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchBundleSize() {
  const assets = join(repo, 'radio-client', 'dist', 'assets');
  const { fileName } = JSON.parse(await readFile(join(assets, 'player-asset.json'), 'utf8'));
  const raw = (await readFile(join(assets, fileName))).length;
  const gzipped = (await readFile(join(assets, `${fileName}.gz`))).length;
  console.log(`client player bundle: ${kb(raw)} KB minified, ${kb(gzipped)} KB gzipped (target < 30 KB gzipped)`);
}

/** A station with two 10 s segments in s3rver, the app in-process, and Chromium clicking Play. */
async function benchPlayToAudio(dir) {
  const segmentSeconds = 10;
  const wav = join(dir, 'tone.wav');
  const out = join(dir, 'encoded');
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=997:sample_rate=48000:duration=${2 * segmentSeconds}`, '-ac', '2', '-c:a', 'pcm_s16le', wav]);
  await run(process.execPath, [join(repo, 'radio-server/dist/cli/main.js'), 'encode', wav, '--out', out, '--segment-seconds', String(segmentSeconds), '--station', 'Bench FM']);

  // The project runs on Node 20 by design; the SDK's notice about its future Node 22 floor is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const { default: S3rver } = await import('s3rver');
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const { OBJECT_HEADERS, MANIFEST_KEY } = await import('@radio/protocol');
  const cors = `<CORSConfiguration><CORSRule><AllowedOrigin>http://127.0.0.1:*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>
    <AllowedHeader>If-None-Match</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule></CORSConfiguration>`;
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: 'radio', configs: [cors] }] });
  const { port: s3Port } = await s3rver.run();
  const s3 = new S3Client({ endpoint: `http://127.0.0.1:${s3Port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const manifest = JSON.parse(await readFile(join(out, MANIFEST_KEY), 'utf8'));
  const put = (key, body, headers) => s3.send(new PutObjectCommand({ Bucket: 'radio', Key: key, Body: body, ContentType: headers.contentType, CacheControl: headers.cacheControl }));
  for (const stream of ['hq', 'lq']) {
    const segments = manifest.streams[stream].segments;
    for (const init of new Set(segments.map((segment) => segment.init))) await put(init, await readFile(join(out, init)), OBJECT_HEADERS.init);
    for (const segment of segments) await put(segment.uri, await readFile(join(out, segment.uri)), OBJECT_HEADERS.segment);
  }
  await put(MANIFEST_KEY, JSON.stringify({ ...manifest, live: true, updatedAt: new Date().toISOString() }), OBJECT_HEADERS.manifest);

  const { serve } = await import('@hono/node-server');
  const { prepareApp } = await import(pathToFileURL(join(repo, 'radio-client/dist/app/start.js')).href);
  const { app } = await prepareApp({ R2_PUBLIC_URL: `http://127.0.0.1:${s3Port}/radio`, STATION_NAME: 'Bench FM' }, pathToFileURL(join(repo, 'radio-client/dist/assets/')));
  const server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const appUrl = `http://127.0.0.1:${server.address().port}/`;

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
  const times = [];
  try {
    for (let i = 0; i < PLAY_RUNS; i++) {
      // A fresh context each run: an empty HTTP cache, as for a first-time listener.
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(appUrl);
      await page.evaluate(watchForFirstAudio, AUDIBLE_RMS);
      await page.getByRole('button', { name: 'Play' }).click();
      const deadline = Date.now() + 15_000;
      let ms;
      while ((ms = await page.evaluate(() => window.benchPlayToAudioMs)) === undefined) {
        if (Date.now() > deadline) throw new Error('no audible output within 15 s of the click');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      times.push(ms);
      await context.close();
    }
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
    s3.destroy();
    await s3rver.close();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(
    `client play-to-first-audio (${segmentSeconds} s segments, loopback, ${PLAY_RUNS} cold runs): median ${median.toFixed(0)} ms, ` +
      `min ${times[0].toFixed(0)} ms, max ${times.at(-1).toFixed(0)} ms (target < 1500 ms)`,
  );
}

/** Runs in the page: notes the click, then samples the player's output every 5 ms until it is audible. */
function watchForFirstAudio(threshold) {
  let clickedAt;
  document.addEventListener('click', () => (clickedAt ??= performance.now()), { capture: true });
  let analyser;
  let samples;
  const timer = setInterval(() => {
    const output = document.querySelector('radio-player')?.output;
    if (clickedAt === undefined || !output) return;
    if (!analyser) {
      analyser = new AnalyserNode(output.context, { fftSize: 256 });
      output.connect(analyser);
      samples = new Float32Array(analyser.fftSize);
    }
    analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    if (rms > threshold) {
      window.benchPlayToAudioMs = performance.now() - clickedAt;
      clearInterval(timer);
    }
  }, 5);
}

/** The live-station figures, measured by radio-client/test/support/player-bench.ts (TypeScript, through vite-node). */
async function benchLivePlayer() {
  const { stdout } = await run(join(repo, 'node_modules/.bin/vite-node'), [join(repo, 'radio-client/test/support/player-bench.ts')], {
    cwd: repo,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('PLAYER-BENCH '));
  if (!line) throw new Error(`player-bench printed no figures:\n${stdout}`);
  const figures = JSON.parse(line.slice('PLAYER-BENCH '.length));
  for (const [segment, target, perSegment] of [['2s', 4, 1800], ['10s', 13, 360]]) {
    const { latency, manifestRequestsPerHour, steadyManifestRequestsPerHour } = figures[segment];
    console.log(
      `client glass-to-ear latency (Chromium, ${segment.replace('s', ' s')} segments, ${latency.arrivals} listeners spread over the segment clock): ` +
        `median ${latency.median.toFixed(2)} s, ${latency.min.toFixed(2)} to ${latency.max.toFixed(2)} s (target <= ${target} s)`,
    );
    console.log(
      `client manifest requests per listener-hour (${segment.replace('s', ' s')} segments): ${steadyManifestRequestsPerHour} once playing ` +
        `(one a segment would be ${perSegment}); ${manifestRequestsPerHour} over a first minute, with the search for the first arrival`,
    );
  }
  const { soak } = figures;
  console.log(
    `client latency held (Chromium, 2 s segments, one listener for ${soak.minutes} minutes, medians per minute of ${soak.markers} markers heard): ` +
      `${soak.first.toFixed(2)} s in the first minute, ${soak.last.toFixed(2)} s in the last, ${soak.min.toFixed(2)} to ${soak.max.toFixed(2)} s over all ${soak.minutesHeard} ` +
      `(target: within +-1 s); playbackRate values seen ${soak.rates.join(', ')}; ${soak.pageErrors} page errors`,
  );
  const { browserCpu, idleCpu } = figures['2s'];
  console.log(
    `client player CPU in Chromium, a minute of playback (2 s segments, auto: HQ on loopback): ${(100 * (browserCpu - idleCpu)).toFixed(1)} % of one core ` +
      `(all browser processes ${(100 * browserCpu).toFixed(1)} %, less the idle page's ${(100 * idleCpu).toFixed(1)} %)`,
  );
}

/** Each server runs in a child process, so it has a core to itself while this process loads it. */
async function benchRequestsPerSecond() {
  const results = {};
  let pageBytes;
  for (const kind of ['hono', 'plain']) {
    const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [{ port, bytes }] = await new Promise((resolve, reject) => {
      child.once('message', (message) => resolve([message]));
      child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    });
    pageBytes = bytes;
    try {
      await load(port, 1); // warm-up: JIT, connections
      results[kind] = await load(port, LOAD_SECONDS);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  console.log(
    `client GET / requests/s (${LOAD_SECONDS} s, ${LOAD_CONNECTIONS} keep-alive connections, ${pageBytes} B page): ` +
      `@hono/node-server ${results.hono.toFixed(0)}, plain node:http ${results.plain.toFixed(0)} (same bytes)`,
  );
}

/** The child: the app on @hono/node-server, or plain node:http answering with the app's `/` bytes and headers. */
async function serveForLoad(kind) {
  const { serve } = await import('@hono/node-server');
  const { prepareApp } = await import(pathToFileURL(join(repo, 'radio-client/dist/app/start.js')).href);
  const { app } = await prepareApp({ R2_PUBLIC_URL: 'https://pub-1234.r2.dev', STATION_NAME: 'Bench FM' }, pathToFileURL(join(repo, 'radio-client/dist/assets/')));
  const reference = await app.request('/');
  const body = Buffer.from(await reference.arrayBuffer());
  let server;
  if (kind === 'hono') {
    server = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
  } else {
    const headers = { ...Object.fromEntries(reference.headers), 'content-length': String(body.length) };
    server = createServer((_req, res) => res.writeHead(200, headers).end(body));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  process.send({ port: server.address().port, bytes: body.length });
  process.once('SIGTERM', () => process.exit(0));
}

/** Keeps LOAD_CONNECTIONS raw keep-alive connections busy for `seconds`; returns completed 200s per second. */
async function load(port, seconds) {
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept-Encoding: identity\r\n\r\n`);
  const endAt = performance.now() + seconds * 1000;
  let completed = 0;
  const connection = () =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let buffered = Buffer.alloc(0);
      socket.on('connect', () => socket.write(request));
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
        for (;;) {
          const end = responseEnd(buffered);
          if (end === -1) return;
          buffered = buffered.subarray(end);
          completed++;
          if (performance.now() >= endAt) {
            socket.destroy();
            return resolve();
          }
          socket.write(request);
        }
      });
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: LOAD_CONNECTIONS }, connection));
  return completed / ((performance.now() - started) / 1000);
}

/** Byte offset just past one complete 200 response at the start of `buffer`, or -1 if it is not all there. */
function responseEnd(buffer) {
  const headerEnd = buffer.indexOf('\r\n\r\n');
  if (headerEnd === -1) return -1;
  const head = buffer.subarray(0, headerEnd).toString('latin1');
  if (!head.startsWith('HTTP/1.1 200')) throw new Error(`unexpected response: ${head.split('\r\n')[0]}`);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) {
    const end = headerEnd + 4 + Number(length[1]);
    return buffer.length >= end ? end : -1;
  }
  if (!/\r\ntransfer-encoding: *chunked/i.test(head)) throw new Error('response has neither Content-Length nor chunked encoding');
  let offset = headerEnd + 4;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', offset);
    if (lineEnd === -1) return -1;
    const size = parseInt(buffer.subarray(offset, lineEnd).toString('latin1'), 16);
    offset = lineEnd + 2 + size + 2;
    if (buffer.length < offset) return -1;
    if (size === 0) return offset;
  }
}

function kb(bytes) {
  return (bytes / 1024).toFixed(1);
}
