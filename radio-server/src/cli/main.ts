#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { createLogger } from '../ops/logger.js';
import { channelPair, decibels, integerIn, positiveNumber, segmentSeconds } from './options.js';
import { UserError } from '../shared/user-error.js';

// The AWS SDK warns once per process on Node < 22 that its releases after January 2027 will need Node 22.
// The lockfile pins a release that supports Node 20 (the station's), so the multi-line warning would only
// clutter journald; the README says when to move to Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Exit code of every user error: bad input, bad config, bad arguments. */
const USAGE_EXIT = 2;

const FILE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied (check the owner and mode of the folder)',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ENOSPC: 'the disk is full',
  EROFS: 'the file system is read-only',
  ENOENT: 'no such file or folder',
};

function isFileSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string; path: string; syscall: string } {
  const e = error as NodeJS.ErrnoException;
  return e instanceof Error && typeof e.code === 'string' && typeof e.path === 'string' && typeof e.syscall === 'string' && e.code in FILE_ERRORS;
}

const program = new Command('radio-server')
  .description('The station\'s capture daemon: audio in, FLAC and Opus out as HLS (CMAF) to an S3 bucket.')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program
  .command('encode')
  .description('cut a WAV file (48 kHz, 16/24/32-bit PCM, mono or stereo) into the segments and manifest the station publishes')
  .argument('<input>', 'WAV file to encode')
  .requiredOption('--out <dir>', 'directory to write manifest.json, hq/ and lq/ into')
  .addOption(new Option('--segment-seconds <s>', 'length of each segment').default(10).argParser(segmentSeconds))
  .addOption(new Option('--flac-level <n>', 'FLAC compression level (0..8)').default(5).argParser(integerIn(0, 8)))
  .addOption(new Option('--opus-bitrate <bps>', 'Opus bitrate in bits per second').default(128000).argParser(integerIn(6000, 510000)))
  .addOption(new Option('--station <name>', 'station name written to the manifest').env('STATION_NAME').default('Community Radio'))
  .action(async (input: string, options) => {
    const { runEncode } = await import('./encode-command.js'); // each command loads only its own modules
    const summary = await runEncode(input, options, createLogger());
    process.stdout.write(`encoded ${summary.segments} segments (${(summary.frames / 48000).toFixed(3)} s) into ${options.out}: manifest.json, hq/, lq/\n`);
  });

program
  .command('run')
  .description('run the live station: capture, encode and publish to the bucket named by R2_* in the environment or .env')
  .addOption(new Option('--source <source>', 'portaudio, tone, file:PATH (a WAV file played in real time) or stdin (raw PCM)').default('portaudio'))
  .addOption(new Option('--device <name>', 'input device, by a part of its name (see `radio-server devices`)').default('UMC404HD'))
  .addOption(new Option('--channels <a,b>', 'the inputs of the interface that form the stereo pair').default([1, 2], '1,2').argParser(channelPair))
  .addOption(new Option('--speed <n>', 'file and tone sources: play n times faster than real time').default(1).argParser(positiveNumber))
  .option('--loop', 'file source: start again at the end instead of going off air', false)
  .addOption(new Option('--format <format>', 'stdin source: raw sample format (stereo, 48 kHz)').choices(['s16le', 's24le', 's32le']).default('s24le'))
  .addOption(new Option('--segment-seconds <s>', 'length of each segment').default(10).argParser(segmentSeconds))
  .addOption(new Option('--window <n>', 'segments listed in the manifest').default(3).argParser(integerIn(1, 100)))
  .addOption(new Option('--keep-extra <n>', 'segments kept in the bucket past the window').default(2).argParser(integerIn(0, 100)))
  .addOption(new Option('--flac-level <n>', 'FLAC compression level (0..8)').default(5).argParser(integerIn(0, 8)))
  .addOption(new Option('--opus-bitrate <bps>', 'Opus bitrate in bits per second').default(128000).argParser(integerIn(6000, 510000)))
  .addOption(new Option('--station <name>', 'station name written to the manifest (default: STATION_NAME)'))
  .addOption(new Option('--dead-air-dbfs <db>', 'dead air: input RMS below this level ...').default(-50).argParser(decibels))
  .addOption(new Option('--dead-air-seconds <s>', '... for this long logs a WARN (and sets radio_silence_seconds)').default(30).argParser(positiveNumber))
  .addOption(new Option('--stall-seconds <s>', 'no audio at all from the source for this long: sign off and exit 1 (systemd restarts it)').default(5).argParser(positiveNumber))
  .option('--takeover', 'go on air even while another daemon is on air on this bucket and prefix (it stops publishing at its next segment)', false)
  .action(async (options) => {
    // The daemon runs for months: segments are big typed arrays outside the V8 heap and its small objects
    // die young, so 4 MB semi-spaces (instead of 16) keep its RSS lower at no cost. Not --optimize-for-size:
    // it ran a full GC of the whole heap every 3 to 4 s (18 a minute instead of ~1), 0.3 to 0.6 % of a core
    // for no RSS gained (npm run bench, daemon).
    setFlagsFromString('--max-semi-space-size=4');
    const [{ readConfig }, { runStation }, { StatusLine }, { logProcessWarnings }] = await Promise.all([
      import('./config.js'),
      import('./run-command.js'),
      import('../ops/status-line.js'),
      import('../ops/process-warnings.js'),
    ]);
    const config = readConfig(loadEnvironment(), options.station ? { STATION_NAME: options.station } : {});
    const status = new StatusLine(process.stderr); // draws only on a terminal; log lines go through it
    const log = createLogger({ destination: status });
    logProcessWarnings(log); // Node's warnings as log lines too, not plain text among the JSON
    process.exitCode = await runStation(config, { ...options, inputs: options.channels }, log, status);
    // Everything is closed; should a stuck sound card still hold the event loop, exit anyway.
    setTimeout(() => process.exit(), 2000).unref();
  });

program
  .command('devices')
  .description('list the audio input devices PortAudio sees')
  .action(async () => {
    const { describeDevices, listInputDevices } = await import('../capture/portaudio-source.js');
    process.stdout.write(`${describeDevices(listInputDevices())}\n`);
  });

program
  .command('check')
  .description('preflight: config, clock offset, write/read/delete a probe object, the public URL\'s CORS')
  .action(async () => {
    const [{ parseConfig }, { runCheck }] = await Promise.all([import('./config.js'), import('./check-command.js')]);
    process.exitCode = await runCheck(parseConfig(loadEnvironment()), createLogger({ level: 'warn' }), process.stdout);
  });

program
  .command('archive')
  .description('the recordings archive')
  .command('check')
  .description('list gaps and overlaps between recordings; exit 1 when there is one')
  .argument('[dir]', 'recordings directory (default: RECORDINGS_DIR, else ./recordings)')
  .action(async (dir?: string) => {
    const { runArchiveCheck } = await import('../archive/archive-check.js');
    process.exitCode = await runArchiveCheck(dir ?? loadEnvironment().RECORDINGS_DIR ?? './recordings', process.stdout);
  });

/** The environment, with `.env` in the working directory loaded first if there is one (it never overrides). */
function loadEnvironment(): NodeJS.ProcessEnv {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT;
  } else if (error instanceof UserError) {
    process.stderr.write(`radio-server: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else if (isFileSystemError(error)) {
    // A path the operator gave cannot be written or read (permissions, a file where a folder should be, a
    // full disk): their problem to fix, so one line, not a stack trace.
    process.stderr.write(`radio-server: cannot ${error.syscall} ${error.path}: ${FILE_ERRORS[error.code] ?? error.code}\n`);
    process.exitCode = USAGE_EXIT;
  } else {
    throw error;
  }
}
