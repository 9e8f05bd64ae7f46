import * as z from 'zod/mini';
import { PROTOCOL_VERSION, segmentKey, type StreamName } from './keys.js';

const isoInstant = z.iso.datetime({ offset: false });
const positiveInt = z.int().check(z.positive());

const segmentSchema = z.object({
  seq: z.int().check(z.nonnegative()),
  uri: z.string().check(z.minLength(1)),
  samples: positiveInt,
  startedAt: isoInstant,
  bytes: z.int().check(z.nonnegative()),
  discontinuity: z.boolean(),
});

const hqSchema = z.object({
  codec: z.literal('flac'),
  mimeType: z.literal('audio/flac'),
  bitsPerSample: z.union([z.literal(16), z.literal(24)]),
  segments: z.array(segmentSchema),
});

const lqSchema = z.object({
  codec: z.literal('opus'),
  mimeType: z.literal('audio/ogg; codecs=opus'),
  bitrate: positiveInt,
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
  streams: z.object({ hq: hqSchema, lq: lqSchema }),
});

/** One segment as listed in a stream of the manifest. */
export type SegmentEntry = z.infer<typeof segmentSchema>;
/** The manifest, protocol version 1. */
export type Manifest = z.infer<typeof manifestShape>;
export type HqStream = z.infer<typeof hqSchema>;
export type LqStream = z.infer<typeof lqSchema>;

/** The rules the protocol states in prose, which a shape alone cannot say; returns the first broken one. */
function protocolRuleBroken(m: Manifest): string | undefined {
  const fullSegment = Math.round(m.segmentSeconds * m.sampleRate);
  const hqSeqs = m.streams.hq.segments.map((s) => s.seq);
  const lqSeqs = m.streams.lq.segments.map((s) => s.seq);
  if (hqSeqs.join() !== lqSeqs.join()) return 'streams.hq and streams.lq must list the same seqs';
  for (const stream of ['hq', 'lq'] as const satisfies StreamName[]) {
    const segments = m.streams[stream].segments;
    for (const [i, s] of segments.entries()) {
      const previous = segments[i - 1];
      if (previous && s.seq <= previous.seq) return `streams.${stream}.segments: seq must strictly increase (${previous.seq} then ${s.seq})`;
      if (s.uri !== segmentKey(stream, s.seq)) return `streams.${stream}.segments: seq ${s.seq} has uri "${s.uri}", expected "${segmentKey(stream, s.seq)}"`;
      if (s.samples > fullSegment) return `streams.${stream}.segments: seq ${s.seq} has ${s.samples} samples, more than segmentSeconds * sampleRate (${fullSegment})`;
    }
  }
  return undefined;
}

/** Result of {@link parseManifest}: the manifest, or one sentence saying what is wrong with it. */
export type ManifestParseResult = { ok: true; manifest: Manifest } | { ok: false; error: string };

/** Validates untrusted JSON (already parsed) against protocol v1, shape and rules. */
export function parseManifest(data: unknown): ManifestParseResult {
  if (typeof data === 'object' && data !== null && 'version' in data && data.version !== PROTOCOL_VERSION) {
    return { ok: false, error: `manifest version ${String(data.version)} is not supported (this build reads version ${PROTOCOL_VERSION})` };
  }
  const parsed = manifestShape.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'manifest';
    return { ok: false, error: `invalid manifest: ${where}: ${issue?.message ?? 'does not match protocol v1'}` };
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
