#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { createLogger } from '../ops/logger.js';
import { integerIn, segmentSeconds } from './options.js';
import { UserError } from './user-error.js';

/** Exit code of every user error: bad input, bad config, bad arguments. */
const USAGE_EXIT = 2;

const program = new Command('radio-server')
  .description('The station\'s capture daemon: audio in, FLAC and Ogg Opus segments out.')
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

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT;
  } else if (error instanceof UserError) {
    process.stderr.write(`radio-server: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    throw error;
  }
}
