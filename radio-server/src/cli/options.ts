import { InvalidArgumentError } from 'commander';

/** Parsers for command-line values: each throws a sentence that commander prints after the option's name. */

export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** Segment length in seconds: positive, and a whole number of 20 ms Opus frames (so both streams cut exactly). */
export function segmentSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.5 || n > 60 || !Number.isInteger(Math.round(n * 50 * 1e6) / 1e6)) {
    throw new InvalidArgumentError('expected seconds from 0.5 to 60 that are a whole number of 20 ms frames (e.g. 10, 2, 0.5).');
  }
  return n;
}

/** A positive number (e.g. --speed). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

/** `1,2` or `3,4` (or one input, `1`, for a mono programme): 1-based inputs of the interface. */
export function channelPair(value: string): number[] {
  const inputs = value.split(',').map((v) => Number(v.trim()));
  if (inputs.length < 1 || inputs.length > 2 || inputs.some((n) => !Number.isInteger(n) || n < 1 || n > 64) || new Set(inputs).size !== inputs.length) {
    throw new InvalidArgumentError('expected one or two different input numbers, e.g. 1,2 or 3,4.');
  }
  return inputs;
}

/** A level in dBFS below full scale, e.g. -50. */
export function decibels(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n >= 0 || n < -140) throw new InvalidArgumentError('expected a level in dBFS from -140 to 0, e.g. -50.');
  return n;
}
