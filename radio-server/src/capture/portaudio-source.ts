import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type * as Naudiodon from 'naudiodon';
import { UserError } from '../shared/user-error.js';
import type { PcmFormat, PcmSamples } from '../segment/pcm.js';
import { decodePcm } from './pcm-decode.js';
import { CAPTURE_BLOCK_FRAMES, type PcmSource } from './pcm-source.js';
import { wholeFrames } from './whole-frames.js';

/** An input device as the operator sees it in `radio-server devices`. */
export interface InputDevice {
  id: number;
  name: string;
  inputs: number;
  hostApi: string;
}

/**
 * naudiodon, loaded on first use: loading it starts PortAudio, which probes every ALSA card (and prints
 * ALSA's complaints on machines without one), so the other sources never pay for it.
 */
function naudiodon(): typeof Naudiodon {
  return createRequire(import.meta.url)('naudiodon') as typeof Naudiodon;
}

/** The input devices PortAudio sees. */
export function listInputDevices(): InputDevice[] {
  return naudiodon()
    .getDevices()
    .filter((d) => d.maxInputChannels > 0)
    .map((d) => ({ id: d.id, name: d.name, inputs: d.maxInputChannels, hostApi: d.hostAPIName }));
}

/** One line per device, for errors and `radio-server devices`. */
export function describeDevices(devices: readonly InputDevice[]): string {
  return devices.length ? devices.map((d) => `  ${d.name} (${d.inputs} inputs, ${d.hostApi})`).join('\n') : '  (none: is the interface plugged in, and is this user in the audio group?)';
}

/** Picks the first input device whose name contains `nameSubstring` (any case) and has the inputs needed. */
export function findInputDevice(devices: readonly InputDevice[], nameSubstring: string, inputsNeeded: number): InputDevice {
  const named = devices.filter((d) => d.name.toLowerCase().includes(nameSubstring.toLowerCase()));
  const device = named.find((d) => d.inputs >= inputsNeeded);
  if (device) return device;
  const why = named.length ? `has fewer than the ${inputsNeeded} inputs that --channels needs` : 'matches';
  throw new UserError(`no input device ${named.length ? `named like "${nameSubstring}" ${why}` : `${why} "${nameSubstring}"`}; pick one with --device. Available input devices:\n${describeDevices(devices)}`);
}

export interface PortAudioSourceOptions {
  /** Substring of the device's name (e.g. "UMC404HD"). */
  device: string;
  /** The two (or one) 1-based inputs of the interface that make the programme, e.g. [1, 2] or [3, 4]. */
  inputs: readonly number[];
}

const FORMAT_RATE = 48000;

/** Captures 24-bit/48 kHz from an audio interface through PortAudio (naudiodon). */
export class PortAudioSource implements PcmSource {
  readonly format: PcmFormat;
  readonly live = true;
  readonly description: string;
  private readonly stream: Readable & { start(): void; quit(): Promise<void> };
  private readonly openChannels: number;
  /** 0-based channel of the opened stream for each output channel; undefined when they are the same. */
  private readonly picks: number[] | undefined;
  private stopped = false;

  constructor(options: PortAudioSourceOptions) {
    const inputsNeeded = Math.max(...options.inputs);
    const device = findInputDevice(listInputDevices(), options.device, inputsNeeded);
    this.openChannels = inputsNeeded;
    const identity = options.inputs.every((input, i) => input === i + 1) && options.inputs.length === inputsNeeded;
    this.picks = identity ? undefined : options.inputs.map((input) => input - 1);
    this.format = { sampleRate: FORMAT_RATE, channels: options.inputs.length as 1 | 2, bitsPerSample: 24 };
    this.description = `${device.name}, inputs ${options.inputs.join('+')}, 24-bit ${FORMAT_RATE} Hz`;
    const portAudio = naudiodon();
    this.stream = portAudio.AudioIO({
      // naudiodon reads chunks of highwaterMark bytes (16 KB by default, 57 ms of stereo): one block's worth instead.
      inOptions: { channelCount: inputsNeeded, sampleFormat: portAudio.SampleFormat24Bit, sampleRate: FORMAT_RATE, deviceId: device.id, closeOnError: false, highwaterMark: CAPTURE_BLOCK_FRAMES * 3 * inputsNeeded },
    }) as unknown as Readable & { start(): void; quit(): Promise<void> };
  }

  async *blocks(): AsyncGenerator<PcmSamples> {
    const frameBytes = 3 * this.openChannels;
    this.stream.start();
    try {
      for await (const frames of wholeFrames(this.stream, frameBytes)) {
        if (this.stopped) break;
        const all = decodePcm(frames, 's24le');
        yield this.picks ? this.pick(all, this.picks) : all;
      }
    } finally {
      await this.stream.quit();
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** Keeps the chosen inputs of a multi-channel frame, in the order given. */
  private pick(all: PcmSamples, picks: readonly number[]): PcmSamples {
    const frames = all.length / this.openChannels;
    const out = new Int32Array(frames * picks.length);
    for (let f = 0; f < frames; f++) {
      for (let c = 0; c < picks.length; c++) out[f * picks.length + c] = all[f * this.openChannels + picks[c]!]!;
    }
    return out;
  }
}
