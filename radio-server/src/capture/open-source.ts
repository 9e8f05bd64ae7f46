import { UserError } from '../shared/user-error.js';
import type { RawSampleFormat } from './pcm-decode.js';
import type { PcmSource } from './pcm-source.js';
import { PortAudioSource } from './portaudio-source.js';
import { StdinSource } from './stdin-source.js';
import { ToneSource } from './tone-source.js';
import { WavFileSource } from './wav-file-source.js';
import { openWavFile } from './wav-file.js';

/** What `--source` and its companion flags ask for. */
export interface SourceRequest {
  /** `portaudio`, `tone`, `file:PATH` or `stdin`. */
  source: string;
  device: string;
  inputs: readonly number[];
  speed: number;
  loop: boolean;
  format: RawSampleFormat;
}

/** Opens the source the operator asked for; a bad request is a UserError naming the choices. */
export async function openSource(request: SourceRequest): Promise<PcmSource> {
  const { source } = request;
  if (source === 'portaudio') return new PortAudioSource({ device: request.device, inputs: request.inputs });
  if (source === 'tone') return new ToneSource({ speed: request.speed });
  if (source === 'stdin') return new StdinSource(process.stdin, request.format);
  if (source.startsWith('file:') && source.length > 5) {
    return new WavFileSource(await openWavFile(source.slice(5)), { speed: request.speed, loop: request.loop });
  }
  throw new UserError(`--source ${source} is not a source: use portaudio, tone, file:PATH (a WAV file) or stdin`);
}
