import { describe, expect, it } from 'vitest';
import { StorageError } from '../publish/s3-errors.js';
import { memoryLogger } from '../publish/testing/memory-log.js';
import type { SegmentMeta } from '../publish/publisher.js';
import { makeSignal } from '../testing/signals.js';
import { UserError } from '../shared/user-error.js';
import { Health } from './health.js';
import { LevelMeter } from './level-meter.js';
import { StationMetrics } from './metrics.js';
import { startOpsServer } from './ops-server.js';
import { stationHooks } from '../cli/station-hooks.js';

// An independent reader of the Prometheus text format 0.0.4, strict enough to fail on any line
// Prometheus would reject: what prom-client writes is checked, not trusted.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface MetricFamily {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/y;
/** Suffixes a sample may add to its family's name, by type. */
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'], counter: [], gauge: [], untyped: [] };

/** As Prometheus reads a value (Go's ParseFloat): special values in any case, as prom-client writes "Nan". */
function parseValue(text: string, line: string): number {
  const special: Record<string, number> = { '+inf': Infinity, inf: Infinity, '+infinity': Infinity, infinity: Infinity, '-inf': -Infinity, '-infinity': -Infinity, nan: NaN };
  if (text.toLowerCase() in special) return special[text.toLowerCase()]!;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad sample value in: ${line}`);
  return Number(text);
}

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    if (!match) throw new Error(`bad labels in: ${line}`);
    if (match[1]! in labels) throw new Error(`label ${match[1]} twice in: ${line}`);
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    if (match[3] === '' && LABEL.lastIndex < text.length) throw new Error(`bad labels in: ${line}`);
  }
  return labels;
}

/** Parses an exposition into its families by name; throws on any line out of format or out of place. */
function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, MetricFamily>();
  const pending = new Map<string, { help?: string; type?: string }>();
  let current: MetricFamily | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const help = HELP_LINE.exec(line);
    const type = TYPE_LINE.exec(line);
    if (help || type) {
      const name = (help ?? type)![1]!;
      if (families.has(name)) throw new Error(`${name} is described after its samples`);
      const entry = pending.get(name) ?? {};
      if (help) entry.help = help[2]!;
      if (type) entry.type = type[2]!;
      pending.set(name, entry);
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = SAMPLE_LINE.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const name = sample[1]!;
    if (!current || !belongsTo(name, current)) {
      const familyName = [...pending.keys()].find((candidate) => belongsTo(name, { name: candidate, type: pending.get(candidate)!.type ?? 'untyped' }));
      if (!familyName) throw new Error(`sample ${name} has no # TYPE line before it`);
      const { help, type } = pending.get(familyName)!;
      if (help === undefined || type === undefined) throw new Error(`${familyName} lacks a # HELP or # TYPE line`);
      pending.delete(familyName);
      current = { name: familyName, help, type, samples: [] };
      families.set(familyName, current);
    }
    current.samples.push({ name, labels: parseLabels(sample[2], line), value: parseValue(sample[3]!, line) });
  }
  return families;
}

function belongsTo(sampleName: string, family: { name: string; type: string }): boolean {
  return sampleName === family.name || (SUFFIXES[family.type] ?? []).some((suffix) => sampleName === family.name + suffix);
}

/** The value of the one sample of `family` with exactly these labels (besides `le` for buckets). */
function sampleValue(family: MetricFamily | undefined, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return family?.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted)?.value;
}

const RATE = 48000;
const meta = (seq: number): SegmentMeta => ({ seq, run: 0, samples: 10 * RATE, startedAt: new Date(0), discontinuity: false });
const storageError = (key: string, code: string) => new StorageError('PUT', key, { code, kind: 'credentials', hint: 'check the token' });

/** A station's operator view with an injected clock, fed through its hooks as the Station would. */
function operatorView() {
  const clock = { now: 0, offsetMs: 250 };
  const { log } = memoryLogger();
  const metrics = new StationMetrics({ clockOffsetMs: () => clock.offsetMs });
  const health = new Health({ segmentSeconds: 10, clockOffsetMs: () => clock.offsetMs, now: () => clock.now });
  const meter = new LevelMeter({ sampleRate: RATE, channels: 2, bitsPerSample: 24 }, log);
  const hooks = stationHooks({ metrics, health, meter });
  return { clock, log, metrics, health, hooks };
}

const REQUIRED: Record<string, string> = {
  radio_segments_uploaded_total: 'counter',
  radio_upload_failures_total: 'counter',
  radio_upload_seconds: 'histogram',
  radio_clock_offset_seconds: 'gauge',
  radio_input_peak_dbfs: 'gauge',
  radio_input_rms_dbfs: 'gauge',
  radio_silence_seconds: 'gauge',
  radio_clipped_samples_total: 'counter',
  radio_queue_segments: 'gauge',
  radio_archive_bytes_total: 'counter',
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
};

describe(parsePrometheusText.name, () => {
  it('rejects what Prometheus would reject', () => {
    expect(parsePrometheusText('# HELP a A.\n# TYPE a gauge\na 1\n').get('a')!.samples).toEqual([{ name: 'a', labels: {}, value: 1 }]);
    expect(() => parsePrometheusText('a 1\n')).toThrow(/no # TYPE line/);
    expect(() => parsePrometheusText('# HELP a A.\n# TYPE a gauge\na{x="1} 1\n')).toThrow(/bad labels/);
    expect(() => parsePrometheusText('# HELP a A.\n# TYPE a gauge\na one\n')).toThrow(/bad sample value/);
    expect(() => parsePrometheusText('# HELP a A.\n# TYPE a gauge\na 1')).toThrow(/newline/);
  });
});

describe(startOpsServer.name, () => {
  it('serves every station metric as Prometheus text, with the values the hooks fed', async () => {
    const { log, metrics, health, hooks } = operatorView();
    const tone = makeSignal(2 * RATE, 2, 24, (f, c) => (c === 0 ? 0.5 : 0.1) * Math.sin((2 * Math.PI * 997 * f) / RATE));
    for (let i = 0; i < tone.samples.length; i += 2 * 4800) hooks.captured!(tone.samples.subarray(i, i + 2 * 4800));
    hooks.encoded!(meta(1), []);
    hooks.queued!(1);
    hooks.uploadFailed!(meta(1), storageError('lq/0000000001.opus', 'SlowDown'));
    hooks.uploadFailed!(meta(1), storageError('manifest.json', 'AccessDenied'));
    hooks.published!(meta(1), 0.3);
    hooks.published!(meta(2), 1.5);
    hooks.queued!(0);
    metrics.archiveBytes.inc(4096);

    const server = await startOpsServer({ port: 0, metrics, health, log });
    try {
      const response = await fetch(`${server.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const families = parsePrometheusText(await response.text());
      for (const [name, type] of Object.entries(REQUIRED)) {
        expect(families.get(name)?.type, name).toBe(type);
        expect(families.get(name)?.help, name).toMatch(/\w/);
      }
      const value = (name: string, sample = name, labels: Record<string, string> = {}) => sampleValue(families.get(name), sample, labels);
      expect(value('radio_segments_uploaded_total', undefined, { stream: 'hq' })).toBe(2);
      expect(value('radio_segments_uploaded_total', undefined, { stream: 'lq' })).toBe(2);
      expect(value('radio_upload_failures_total', undefined, { stream: 'lq', code: 'SlowDown' })).toBe(1);
      expect(value('radio_upload_failures_total', undefined, { stream: 'manifest', code: 'AccessDenied' })).toBe(1);
      expect(value('radio_upload_seconds', 'radio_upload_seconds_count')).toBe(2);
      expect(value('radio_upload_seconds', 'radio_upload_seconds_sum')).toBeCloseTo(1.8);
      expect(value('radio_upload_seconds', 'radio_upload_seconds_bucket', { le: '0.5' })).toBe(1);
      expect(value('radio_upload_seconds', 'radio_upload_seconds_bucket', { le: '+Inf' })).toBe(2);
      expect(value('radio_clock_offset_seconds')).toBe(0.25);
      expect(value('radio_input_peak_dbfs', undefined, { channel: 'left' })).toBeCloseTo(-6.02, 1);
      expect(value('radio_input_rms_dbfs', undefined, { channel: 'right' })).toBeCloseTo(-23.01, 1);
      expect(value('radio_silence_seconds')).toBe(0);
      expect(value('radio_clipped_samples_total')).toBe(0);
      expect(value('radio_queue_segments')).toBe(0);
      expect(value('radio_archive_bytes_total')).toBe(4096);
    } finally {
      await server.close();
    }
  });

  it('exposes clipping, and digital silence as -Inf dBFS', async () => {
    const { log, metrics, health, hooks } = operatorView();
    hooks.captured!(makeSignal(RATE, 2, 24, (f, c) => (c === 0 ? (Math.floor(f / 240) % 2 ? 1 : -1) : 0)).samples);
    const server = await startOpsServer({ port: 0, metrics, health, log });
    try {
      const families = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());
      expect(sampleValue(families.get('radio_input_peak_dbfs'), 'radio_input_peak_dbfs', { channel: 'left' })).toBeCloseTo(0, 3);
      expect(sampleValue(families.get('radio_input_peak_dbfs'), 'radio_input_peak_dbfs', { channel: 'right' })).toBe(-Infinity);
      expect(sampleValue(families.get('radio_clipped_samples_total'), 'radio_clipped_samples_total')).toBe(RATE);
      expect(sampleValue(families.get('radio_silence_seconds'), 'radio_silence_seconds')).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('answers /healthz 200 while healthy and 503 naming the failing part', async () => {
    const { clock, log, metrics, health, hooks } = operatorView();
    const server = await startOpsServer({ port: 0, metrics, health, log });
    const healthz = async () => {
      const response = await fetch(`${server.url}/healthz`);
      expect(response.headers.get('content-type')).toBe('application/json');
      return { status: response.status, body: (await response.json()) as { status: string; failing?: string[]; parts: Record<string, { ok: boolean; detail: string }> } };
    };
    try {
      // Before any audio: capture is the failing part.
      expect(await healthz()).toMatchObject({ status: 503, body: { status: 'failing', failing: ['capture'], parts: { capture: { ok: false, detail: 'no audio captured yet' } } } });

      hooks.captured!(new Int32Array(2 * 480));
      hooks.encoded!(meta(1), []);
      hooks.published!(meta(1), 0.42);
      const healthy = await healthz();
      expect(healthy.status).toBe(200);
      expect(healthy.body.status).toBe('ok');
      expect(healthy.body.failing).toBeUndefined();
      expect(Object.keys(healthy.body.parts)).toEqual(['capture', 'encoding', 'uploads', 'archive', 'clock']);
      expect(healthy.body.parts.uploads).toEqual({ ok: true, detail: 'segment 1 published in 0.42 s' });

      // Two failures are retried quietly; the third in a row fails uploads.
      hooks.uploadFailed!(meta(2), storageError('hq/0000000002.flac', 'AccessDenied'));
      hooks.uploadFailed!(meta(2), storageError('hq/0000000002.flac', 'AccessDenied'));
      expect((await healthz()).status).toBe(200);
      hooks.uploadFailed!(meta(2), storageError('hq/0000000002.flac', 'AccessDenied'));
      expect(await healthz()).toMatchObject({ status: 503, body: { failing: ['uploads'], parts: { uploads: { ok: false, detail: '3 publishes failed in a row, the last with AccessDenied' } } } });
      hooks.published!(meta(2), 0.5);
      expect((await healthz()).status).toBe(200);

      // Capture stops: after 5 s without a block.
      clock.now += 6000;
      expect(await healthz()).toMatchObject({ status: 503, body: { failing: ['capture'], parts: { capture: { detail: 'no audio captured for 6.0 s' } } } });
      hooks.captured!(new Int32Array(2 * 480));
      expect((await healthz()).status).toBe(200);

      // Encoding stops: no segment for three segment lengths while audio keeps coming.
      clock.now += 31_000;
      hooks.captured!(new Int32Array(2 * 480));
      expect(await healthz()).toMatchObject({ status: 503, body: { failing: ['encoding'] } });
      hooks.encoded!(meta(3), []);

      // NTP broken: the endpoint's clock 20 minutes ahead.
      clock.offsetMs = 20 * 60_000;
      expect(await healthz()).toMatchObject({ status: 503, body: { failing: ['clock'], parts: { clock: { detail: 'offset to the endpoint +1200.0 s, over the 5 min limit: NTP is broken on this host' } } } });
    } finally {
      await server.close();
    }
  });

  it('answers 404 elsewhere and 405 to other methods, listens on loopback only, and closes with a scraper still connected', async () => {
    const { log, metrics, health } = operatorView();
    const server = await startOpsServer({ port: 0, metrics, health, log });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics/extra`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    // fetch keeps its connection alive, as Prometheus does: close() must not wait for it.
    await server.close();
    await expect(fetch(`${server.url}/metrics`)).rejects.toThrow();
  });

  it('says which port is taken, in one sentence', async () => {
    const { log, metrics, health } = operatorView();
    const first = await startOpsServer({ port: 0, metrics, health, log });
    try {
      const taken = startOpsServer({ port: first.port, metrics, health, log });
      await expect(taken).rejects.toThrow(UserError);
      await expect(taken).rejects.toThrow(`METRICS_PORT ${first.port} on 127.0.0.1 is already in use: stop the program using it or set METRICS_PORT to a free port`);
    } finally {
      await first.close();
    }
  });
});
