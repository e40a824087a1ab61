import { InvalidArgumentError } from '../core/errors.ts';

/** A numeric command-line option, checked: a whole number of at least `min`, or a clear error. */
export function wholeNumberOption(option: string, value: string | undefined, min = 0): number {
  const number = Number(value);
  if (value === undefined || !Number.isSafeInteger(number) || number < min) {
    throw new InvalidArgumentError(`--${option} "${value}" must be a whole number of at least ${min}`);
  }
  return number;
}

/** A command-line option that takes one of a few words, checked: the word, or a clear error naming them. */
export function oneOfOption<Word extends string>(option: string, value: string | undefined, words: readonly Word[]): Word {
  const word = words.find((candidate) => candidate === value);
  if (word === undefined) throw new InvalidArgumentError(`--${option} "${value}" must be ${words.join(', ')}`);
  return word;
}
