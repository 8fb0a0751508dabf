import {InvalidArgumentError} from 'commander';

/** `text` as a whole number (digits only), or an error naming `flag`. */
export function wholeNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) {
    throw new Error(`${flag} must be a whole number, got "${text}"`);
  }
  return Number(text);
}

/** `text` as a whole number for a position or revision (up to 2^64-1), or an error naming `flag`. */
export function wholeBigInt(text: string, flag: string): bigint {
  if (!/^\d+$/.test(text.trim())) throw new Error(`${flag} must be a whole number, got "${text}"`);
  return BigInt(text);
}

/**
 * An option's parser (commander's `argParser`) for a whole number: a bad
 * value is a usage error that names the option, before anything runs.
 */
export function countOption(value: string): number {
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

/** As {@link countOption}, for a position or revision. */
export function sequenceOption(value: string): bigint {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a whole number (a position or revision)');
  return BigInt(value);
}
