import { Worker } from 'node:worker_threads';
import type { Segment } from '../segment/segmenter.js';
import type { OpusOptions } from './opus-segment-encoder.js';
import type { EncodedSegment, SegmentEncoder } from './segment-encoder.js';

/**
 * The LQ encoder on a second core: libopus is ~80 % of the encoding work, so with it in a worker thread
 * the main thread reads, encodes FLAC and writes meanwhile. Segments are encoded in the order given.
 * The segment's sample buffers move to the worker (they are detached here): call it after the other
 * encoders have read them.
 */
export class OpusWorkerEncoder implements SegmentEncoder {
  readonly stream = 'lq' as const;
  private readonly worker: Worker;
  /** Callers waiting for a segment, by seq. */
  private readonly pending = new Map<number, { resolve: (e: EncodedSegment) => void; reject: (e: unknown) => void }>();

  constructor(options: OpusOptions) {
    this.worker = new Worker(new URL('./opus-worker.js', import.meta.url), { workerData: options });
    this.worker.on('message', (encoded: EncodedSegment) => {
      const waiting = this.pending.get(encoded.seq);
      this.pending.delete(encoded.seq);
      waiting?.resolve({ ...encoded, bytes: Buffer.from(encoded.bytes.buffer, encoded.bytes.byteOffset, encoded.bytes.byteLength) });
    });
    this.worker.on('error', (error) => {
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    });
  }

  encode(segment: Segment): Promise<EncodedSegment> {
    return new Promise((resolve, reject) => {
      this.pending.set(segment.seq, { resolve, reject });
      const buffers = new Set([segment.samples.buffer, segment.preRoll.buffer, segment.postRoll.buffer] as ArrayBuffer[]);
      this.worker.postMessage(segment, [...buffers]);
    });
  }

  /** Ends the thread. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
