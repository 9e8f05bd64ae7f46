import { parentPort, workerData } from 'node:worker_threads';
import { OpusSegmentEncoder, type OpusOptions } from './opus-segment-encoder.js';
import type { Segment } from '../segment/segmenter.js';

// The Opus encoder in a thread of its own (see worker-segment-encoder.ts): segments in, files out.
// One segment at a time, in the order received.
const encoder = new OpusSegmentEncoder(workerData as OpusOptions);
let previous: Promise<void> = Promise.resolve();
parentPort!.on('message', (segment: Segment) => {
  previous = previous.then(async () => {
    const encoded = await encoder.encode(segment);
    parentPort!.postMessage(encoded, [encoded.bytes.buffer as ArrayBuffer]);
  });
});
