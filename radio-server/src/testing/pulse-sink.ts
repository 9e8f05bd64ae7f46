import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PulseAudio daemon whose only sound card is a 48 kHz null sink: a real output for headless browsers. */
export interface PulseSink {
  /** The environment a browser (or parec) needs to use it. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts PulseAudio with a null sink `out` on a socket of its own; resolves once the socket is there. */
export async function startPulseSink(): Promise<PulseSink> {
  const dir = await mkdtemp(join(tmpdir(), 'pulse-'));
  await Promise.all([mkdir(join(dir, 'xdg'), { mode: 0o700 }), mkdir(join(dir, 'home'))]);
  const socket = join(dir, 'pulse.sock');
  const env = { XDG_RUNTIME_DIR: join(dir, 'xdg'), HOME: join(dir, 'home'), PULSE_SERVER: `unix:${socket}` };
  const daemon: ChildProcess = spawn('pulseaudio', ['-n', '--daemonize=no', '--exit-idle-time=-1', '--disallow-exit', '--system=false',
    `--load=module-native-protocol-unix socket=${socket} auth-anonymous=1`, '--load=module-null-sink sink_name=out rate=48000'], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (daemon.exitCode !== null || Date.now() > deadline) throw new Error('pulseaudio did not start (is the pulseaudio package installed?)');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    env,
    async stop() {
      daemon.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
