import { InvalidArgumentError } from '../core/errors.ts';

/** A numeric command-line option, checked: a whole number of at least `min`, or a clear error. */
export function wholeNumberOption(option: string, value: string | undefined, min = 0): number {
  const number = Number(value);
  if (value === undefined || !Number.isSafeInteger(number) || number < min) {
    throw new InvalidArgumentError(`--${option} "${value}" must be a whole number of at least ${min}`);
  }
  return number;
}
