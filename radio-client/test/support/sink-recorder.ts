import { spawn } from 'node:child_process';

/** What the sound card played, mono float samples at 48 kHz. */
export interface Recording {
  samples: Float32Array;
  sampleRate: number;
  /** Wall-clock time (ms since 1970) at which the sink played `samples[0]`, to within the monitor's latency. */
  startedAt: number;
}

/** A running `parec`; `stop()` ends it with SIGINT and returns what it recorded. */
export interface SinkRecorder {
  stop(): Promise<Recording>;
}

const SAMPLE_RATE = 48000;

/**
 * Records the monitor of the null sink `out` of the PulseAudio server in `env`: exactly what the
 * browsers sent to the sound card, downmixed to mono. Resolves once the first samples arrived.
 */
export async function recordSink(env: Record<string, string>, sink = 'out'): Promise<SinkRecorder> {
  const parec = spawn('parec', ['-d', `${sink}.monitor`, '--raw', '--format=float32le', `--rate=${SAMPLE_RATE}`, '--channels=1', '--latency-msec=50'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let bytes = 0;
  // Each chunk arrives after its last sample was played: the earliest (arrival - samples so far) is when the first one was.
  let startedAt = Infinity;
  let stderr = '';
  parec.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => parec.once('exit', (code) => resolve(code)));
  const first = new Promise<void>((resolve, reject) => {
    parec.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      startedAt = Math.min(startedAt, Date.now() - (bytes / 4 / SAMPLE_RATE) * 1000);
      resolve();
    });
    void exited.then((code) => reject(new Error(`parec exited with ${code} before recording anything: ${stderr.trim()}`)));
  });
  await first;
  return {
    async stop() {
      parec.kill('SIGINT');
      await exited;
      const all = Buffer.concat(chunks);
      const samples = new Float32Array(Math.floor(all.length / 4));
      for (let i = 0; i < samples.length; i++) samples[i] = all.readFloatLE(i * 4);
      return { samples, sampleRate: SAMPLE_RATE, startedAt };
    },
  };
}
