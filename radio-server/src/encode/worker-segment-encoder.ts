import { Worker } from 'node:worker_threads';
import type { Segment } from '../segment/segmenter.js';
import type { OpusWorkerResult } from './opus-worker.js';
import { opusInit, type OpusTrackOptions } from './opus-init.js';
import type { EncodedSegment, SegmentEncoder } from './segment-encoder.js';

/**
 * The LQ encoder on a second core: libopus is ~80 % of the encoding work, so with it in a worker thread
 * the main thread reads, encodes FLAC and writes meanwhile. Segments are encoded in the order given.
 * `encode` posts the segment at once and detaches nothing: call it before the encoders of this thread,
 * which then read the same segment while the worker does. Samples on SharedArrayBuffer (Segmenter's
 * `shared`) are read in place, others are copied; either way the caller keeps them, and may reuse them
 * once the promise has settled. A worker that dies fails every waiting and later encode, never leaves
 * one pending.
 */
export class OpusWorkerEncoder implements SegmentEncoder {
  readonly stream = 'lq' as const;
  readonly init: Buffer;
  private readonly worker: Worker;
  /** Callers waiting for a segment, by seq. */
  private readonly pending = new Map<number, { resolve: (e: EncodedSegment) => void; reject: (e: unknown) => void }>();
  private failure: Error | undefined;

  constructor(options: OpusTrackOptions) {
    this.init = opusInit(options);
    this.worker = new Worker(new URL('./opus-worker.js', import.meta.url), { workerData: options });
    this.worker.on('message', (result: OpusWorkerResult) => {
      const waiting = this.pending.get(result.seq);
      this.pending.delete(result.seq);
      const bytes = Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength);
      waiting?.resolve({ stream: this.stream, seq: result.seq, samples: result.samples, bytes, init: this.init });
    });
    this.worker.on('error', (error) => this.fail(new Error(`the Opus encoder thread failed: ${error.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`the Opus encoder thread exited (code ${code})`)));
  }

  encode(segment: Segment): Promise<EncodedSegment> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(segment.seq, { resolve, reject });
      this.worker.postMessage(segment);
    });
  }

  /** Ends the thread. */
  async close(): Promise<void> {
    this.failure ??= new Error('the Opus encoder was closed');
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
  }
}
