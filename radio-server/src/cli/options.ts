import { InvalidArgumentError } from 'commander';

/** Parsers for command-line values: each throws a sentence that commander prints after the option's name. */

export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** Segment length in seconds: positive, and a whole number of 48 kHz frames (so segments cut exactly). */
export function segmentSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.5 || n > 60 || !Number.isInteger(Math.round(n * 48000 * 1e6) / 1e6)) {
    throw new InvalidArgumentError('expected seconds from 0.5 to 60 that are a whole number of 48 kHz samples (e.g. 10, 2, 0.5).');
  }
  return n;
}
