import * as z from 'zod/mini';
import { initKey, MULTIVARIANT_KEY, playlistKey, PROTOCOL_VERSION, runOfInitKey, segmentKey, STREAM_MIME_TYPES, type StreamName } from './keys.js';

const isoInstant = z.iso.datetime({ offset: false });
const positiveInt = z.int().check(z.positive());
const nonNegativeInt = z.int().check(z.nonnegative());

const segmentSchema = z.object({
  seq: nonNegativeInt,
  /** The HLS media sequence number: consecutive for the life of the bucket's playlist. */
  msn: nonNegativeInt,
  uri: z.string().check(z.minLength(1)),
  init: z.string().check(z.minLength(1)),
  samples: positiveInt,
  startedAt: isoInstant,
  bytes: nonNegativeInt,
  discontinuity: z.boolean(),
});

const hqSchema = z.object({
  codec: z.literal('flac'),
  mimeType: z.literal(STREAM_MIME_TYPES.hq),
  bitsPerSample: z.union([z.literal(16), z.literal(24)]),
  playlist: z.literal(playlistKey('hq')),
  segments: z.array(segmentSchema),
});

const lqSchema = z.object({
  codec: z.literal('opus'),
  mimeType: z.literal(STREAM_MIME_TYPES.lq),
  bitrate: positiveInt,
  playlist: z.literal(playlistKey('lq')),
  segments: z.array(segmentSchema),
});

const manifestShape = z.object({
  version: z.literal(PROTOCOL_VERSION),
  station: z.string(),
  live: z.boolean(),
  updatedAt: isoInstant,
  segmentSeconds: z.number().check(z.positive()),
  sampleRate: positiveInt,
  channels: z.union([z.literal(1), z.literal(2)]),
  hls: z.literal(MULTIVARIANT_KEY),
  streams: z.object({ hq: hqSchema, lq: lqSchema }),
});

/** One segment as listed in a stream of the manifest. */
export type SegmentEntry = z.infer<typeof segmentSchema>;
/** The manifest, protocol version 2. */
export type Manifest = z.infer<typeof manifestShape>;
export type HqStream = z.infer<typeof hqSchema>;
export type LqStream = z.infer<typeof lqSchema>;

/** The rules the protocol states in prose, which a shape alone cannot say; returns the first broken one. */
function protocolRuleBroken(m: Manifest): string | undefined {
  const fullSegment = Math.round(m.segmentSeconds * m.sampleRate);
  const listing = (s: SegmentEntry) => `${s.seq}:${s.msn}:${s.samples}:${s.startedAt}:${s.discontinuity}`;
  if (m.streams.hq.segments.map(listing).join() !== m.streams.lq.segments.map(listing).join()) {
    return 'streams.hq and streams.lq must list the same segments (seq, msn, samples, startedAt, discontinuity)';
  }
  for (const stream of ['hq', 'lq'] as const satisfies StreamName[]) {
    const segments = m.streams[stream].segments;
    for (const [i, s] of segments.entries()) {
      const where = `streams.${stream}.segments: seq ${s.seq}`;
      const previous = segments[i - 1];
      if (previous && s.seq <= previous.seq) return `streams.${stream}.segments: seq must strictly increase (${previous.seq} then ${s.seq})`;
      if (previous && s.msn !== previous.msn + 1) return `${where} has msn ${s.msn}, expected ${previous.msn + 1} (media sequence numbers are consecutive)`;
      if (s.uri !== segmentKey(stream, s.seq)) return `${where} has uri "${s.uri}", expected "${segmentKey(stream, s.seq)}"`;
      const run = runOfInitKey(s.init);
      if (!run || run.stream !== stream || run.run > s.seq) return `${where} has init "${s.init}", expected "${stream}/init-<run seq, at most ${s.seq}>.mp4"`;
      if (s.init !== initKey(stream, run.run)) return `${where} has init "${s.init}", expected "${initKey(stream, run.run)}"`;
      if (previous && previous.init !== s.init && !s.discontinuity) return `${where} starts a new run (${s.init}) but is not marked as a discontinuity`;
      if (s.samples > fullSegment) return `${where} has ${s.samples} samples, more than segmentSeconds * sampleRate (${fullSegment})`;
    }
  }
  return undefined;
}

/** Result of {@link parseManifest}: the manifest, or one sentence saying what is wrong with it. */
export type ManifestParseResult = { ok: true; manifest: Manifest } | { ok: false; error: string };

/** Validates untrusted JSON (already parsed) against protocol v2, shape and rules. */
export function parseManifest(data: unknown): ManifestParseResult {
  if (typeof data === 'object' && data !== null && 'version' in data && data.version !== PROTOCOL_VERSION) {
    return { ok: false, error: `manifest version ${String(data.version)} is not supported (this build reads version ${PROTOCOL_VERSION})` };
  }
  const parsed = manifestShape.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'manifest';
    return { ok: false, error: `invalid manifest: ${where}: ${issue?.message ?? `does not match protocol v${PROTOCOL_VERSION}`}` };
  }
  const broken = protocolRuleBroken(parsed.data);
  return broken ? { ok: false, error: `invalid manifest: ${broken}` } : { ok: true, manifest: parsed.data };
}

/** Parses manifest text (the body of `manifest.json`). */
export function parseManifestText(text: string): ManifestParseResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, error: 'invalid manifest: the body is not JSON' };
  }
  return parseManifest(data);
}
