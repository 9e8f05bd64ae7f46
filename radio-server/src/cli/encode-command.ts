// The keys alone: the manifest validator (zod) costs start-up time that encode does not need.
import { initKey, MANIFEST_KEY, OBJECT_HEADERS, segmentKey, STREAM_NAMES } from '@radio/protocol/keys';
import { openWavFile } from '../capture/wav-file.js';
import { FlacTrackEncoder } from '../encode/flac-track-encoder.js';
import { ENCODER_POST_ROLL, type SegmentEncoder } from '../encode/segment-encoder.js';
import { OpusWorkerEncoder } from '../encode/worker-segment-encoder.js';
import type { Logger } from '../ops/logger.js';
import { DirectoryStore } from '../publish/directory-store.js';
import { indexObjects, multivariantObject } from '../publish/indexes.js';
import type { PublishedSegment, StationDescription } from '../publish/manifest-builder.js';
import type { ObjectStore } from '../publish/object-store.js';
import { measuredBandwidth } from '../publish/playlists.js';
import { Segmenter, type Segment } from '../segment/segmenter.js';
import { UserError } from '../shared/user-error.js';

export interface EncodeOptions {
  out: string;
  segmentSeconds: number;
  flacLevel: number;
  opusBitrate: number;
  station: string;
}

export interface EncodeSummary {
  segments: number;
  frames: number;
  manifestPath: string;
}

/**
 * Segments are numbered from 1: segment seq starts at seq * length on the media timeline, and the Opus
 * priming packet lies just before the run's first segment, which at seq 0 would be before time zero.
 */
const FIRST_SEQ = 1;

/** Frames read from the file at a time: a tenth of a second keeps memory small and the loop cheap. */
const READ_BLOCK_FRAMES = 4800;

/**
 * `radio-server encode`: cuts a WAV file into the segments the live station would publish, with a
 * manifest (live: false) listing all of them, written last and atomically.
 */
export async function runEncode(input: string, options: EncodeOptions, log: Logger, now: () => Date = () => new Date()): Promise<EncodeSummary> {
  const wav = await openWavFile(input);
  try {
    if (wav.frames === 0) throw new UserError(`input ${input} holds no audio frames`);
    if (wav.truncatedBy !== undefined) {
      log.warn({ input, missingBytes: wav.truncatedBy, frames: wav.frames }, 'input is truncated: encoding up to its last whole frame');
    }
    const station: StationDescription = { station: options.station, segmentSeconds: options.segmentSeconds, format: wav.format, opusBitrate: options.opusBitrate };
    const segmentFrames = Math.round(options.segmentSeconds * wav.format.sampleRate);
    const segmenter = new Segmenter({ format: wav.format, segmentFrames, postRollFrames: ENCODER_POST_ROLL, firstSeq: FIRST_SEQ });
    // One run whose length is known: the inits' edit lists say it, so players trim it exactly.
    const track = { format: wav.format, segmentFrames, runSeq: FIRST_SEQ, totalFrames: wav.frames };
    const opus = new OpusWorkerEncoder({ ...track, bitrate: options.opusBitrate });
    const encoders: SegmentEncoder[] = [new FlacTrackEncoder({ ...track, compressionLevel: options.flacLevel }), opus];
    const store: ObjectStore = new DirectoryStore(options.out);
    const startedAt = now();
    const published: PublishedSegment[] = [];
    const publish = async (segment: Segment) => {
      // In this order: libFLAC reads the samples synchronously, then they move to the Opus worker.
      const encoded = await Promise.all(encoders.map((e) => e.encode(segment)));
      if (segment.seq === FIRST_SEQ) await Promise.all(encoded.map((e) => store.put(initKey(e.stream, FIRST_SEQ), e.init, OBJECT_HEADERS.init)));
      await Promise.all(encoded.map((e) => store.put(segmentKey(e.stream, e.seq), e.bytes, OBJECT_HEADERS.segment)));
      published.push({
        seq: segment.seq,
        msn: segment.seq - FIRST_SEQ,
        run: FIRST_SEQ,
        samples: segment.frames,
        startedAt: new Date(startedAt.getTime() + (segment.startFrame * 1000) / wav.format.sampleRate),
        discontinuity: segment.discontinuity,
        bytes: { hq: encoded[0]!.bytes.length, lq: encoded[1]!.bytes.length },
      });
    };
    // Two segments in flight: while the worker encodes one segment's Opus, this thread reads the next
    // and encodes its FLAC.
    let inFlight: Promise<void> = Promise.resolve();
    const next = async (segment: Segment) => {
      const previous = inFlight;
      inFlight = publish(segment);
      await previous;
    };
    try {
      for await (const block of wav.blocks(READ_BLOCK_FRAMES)) {
        for (const segment of segmenter.push(block)) await next(segment);
      }
      for (const segment of segmenter.end()) await next(segment);
      await inFlight;
    } finally {
      await inFlight.catch(() => undefined);
      await opus.close();
    }
    published.sort((a, b) => a.seq - b.seq);
    const bandwidth = Object.fromEntries(STREAM_NAMES.map((stream) => [stream, measuredBandwidth(published, stream, wav.format.sampleRate)])) as Parameters<typeof multivariantObject>[0];
    // The indexes last, the manifest last of all: a reader never finds one that names a missing object.
    for (const o of [multivariantObject(bandwidth), ...indexObjects(station, published, { live: false, discontinuitySequence: 0, now: now() })]) await store.put(o.key, o.body, o.headers);
    return { segments: published.length, frames: wav.frames, manifestPath: `${options.out}/${MANIFEST_KEY}` };
  } finally {
    await wav.close();
  }
}
