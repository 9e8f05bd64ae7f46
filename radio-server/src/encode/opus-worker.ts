import { parentPort, workerData } from 'node:worker_threads';
import type { OpusTrackOptions } from './opus-init.js';
import { OpusTrackEncoder } from './opus-track-encoder.js';
import type { Segment } from '../segment/segmenter.js';

/** What the worker sends back for each segment: the fragment (the init is the same for the run). */
export type OpusWorkerResult = { seq: number; samples: number; bytes: Uint8Array };

// The Opus encoder in a thread of its own (see worker-segment-encoder.ts): segments in, fragments out.
// One segment at a time, in the order received (one codec stream for the run).
const encoder = new OpusTrackEncoder(workerData as OpusTrackOptions);
let previous: Promise<void> = Promise.resolve();
parentPort!.on('message', (segment: Segment) => {
  previous = previous.then(async () => {
    const { seq, samples, bytes } = await encoder.encode(segment);
    parentPort!.postMessage({ seq, samples, bytes } satisfies OpusWorkerResult, [bytes.buffer as ArrayBuffer]);
  });
});
