/** `1 part`, `2 parts`: the word for a count, with an `s` unless the count is one (or the plural given). */
export function plural(count: number, word: string, many = `${word}s`): string {
  return count === 1 ? word : many;
}
