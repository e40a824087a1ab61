import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { compareUtf8 } from '../core/utf8-order.ts';

/** Sorts after every key that begins with what precedes it: the highest code point. */
const HIGHEST = String.fromCodePoint(0x10ffff);

/** Code points of the characters keys are mostly made of; the gaps between them rarely hold a key. */
const RUNS: ReadonlyArray<readonly [number, number]> = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];

/** Answers "which is the first key after this one?" within a range. */
export interface KeyFinder {
  after(after: string): Promise<string | undefined>;
}

/**
 * A `KeyFinder` of one ListObjectsV2 call of one key per question: how a worker learns where a
 * range's keys lie without listing them.
 */
export class KeyProbe implements KeyFinder {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #end: string | undefined;

  constructor(s3: S3Client, where: { bucket: string; prefix: string; end?: string | undefined }) {
    this.#s3 = s3;
    this.#bucket = where.bucket;
    this.#prefix = where.prefix;
    this.#end = where.end;
  }

  /** The first key after `after` under the prefix, or undefined when there is none up to the range's end. */
  async after(after: string): Promise<string | undefined> {
    const { Contents = [] } = await this.#s3.send(
      new ListObjectsV2Command({ Bucket: this.#bucket, ...(this.#prefix && { Prefix: this.#prefix }), StartAfter: after, MaxKeys: 1 }),
    );
    const key = Contents[0]?.Key;
    return key === undefined || (this.#end !== undefined && compareUtf8(key, this.#end) > 0) ? undefined : key;
  }
}

/**
 * Where to cut the rest of a large range, after its key `last`, so that the pieces share its keys:
 * the probe finds the longest beginning Q that every key left in the range shares (a binary
 * search, ~log2 of the key's length calls), then the highest character that follows Q among them
 * and which of the runs of digits and letters occur there (a few calls more); the characters
 * from `last`'s one to the highest are dealt into at most `most + 1` groups of equal size, and
 * each group but the first (the range's own) starts after Q followed by its first character. So
 * `<sha256>` names split at their next hex digit sixteen ways, a deep prefix at the character
 * after it, dates at the month, then the day. Whatever the keys, the pieces cover the rest of
 * the range exactly once: the points are in order, after `last`, before `end`.
 */
export async function spanSplitPoints(probe: KeyFinder, last: string, end: string | undefined, most: number, from = 0): Promise<string[]> {
  const chars = [...last];
  const shared = await sharedLength(probe, chars, from);
  const at = chars[shared]?.codePointAt(0);
  if (at === undefined || most < 1) return [];
  const beginning = chars.slice(0, shared).join('');
  const spans = await spansAfter(probe, beginning, at);
  const count = spans.reduce((sum, [low, high]) => sum + high - low + 1, 0);
  const groups = Math.min(most + 1, count);
  const points: string[] = [];
  for (let group = 1; group < groups; group += 1) {
    const point = beginning + String.fromCodePoint(nthCode(spans, Math.floor((group * count) / groups)));
    if (compareUtf8(point, last) <= 0 || (end !== undefined && compareUtf8(point, end) >= 0)) continue;
    if (points.at(-1) !== point) points.push(point);
  }
  return points;
}

/** The `index`-th code point of the spans taken in order, past the surrogates (no string holds one alone). */
function nthCode(spans: Array<readonly [number, number]>, index: number): number {
  let left = index;
  for (const [low, high] of spans) {
    if (left <= high - low) {
      const code = low + left;
      return code >= 0xd800 && code <= 0xdfff ? 0xe000 : code;
    }
    left -= high - low + 1;
  }
  return (spans.at(-1) as readonly [number, number])[1];
}

/** The longest beginning of `last` (at least `from` characters) that every key after it in the range shares. */
async function sharedLength(probe: KeyFinder, chars: string[], from: number): Promise<number> {
  let low = Math.min(from, chars.length);
  let high = chars.length;
  while (low < high) {
    const length = Math.ceil((low + high) / 2);
    // No key after every key that begins so: they all do.
    if ((await probe.after(chars.slice(0, length).join('') + HIGHEST)) === undefined) low = length;
    else high = length - 1;
  }
  return low;
}

/**
 * The characters the keys left may have after `beginning`, from `at` (the last key's) to the
 * highest one found, as spans of code points: of digits and letters, only the runs that occur
 * there, so that the groups fall where keys are; of other characters, everything between.
 */
async function spansAfter(probe: KeyFinder, beginning: string, at: number): Promise<Array<readonly [number, number]>> {
  const highest = await highestCode(probe, beginning, at);
  const inRun = (code: number) => RUNS.some(([low, high]) => code >= low && code <= high);
  if (!inRun(at) || !inRun(highest)) return [[at, highest]];
  const spans: Array<readonly [number, number]> = [];
  for (const [low, high] of RUNS) {
    if (high < at || low > highest) continue;
    const span = [Math.max(low, at), Math.min(high, highest)] as const;
    // The run of `at` occurs; another only if a key has one of its characters there.
    if (span[0] === at || (await occursAt(probe, beginning, span[0], span[1]))) spans.push(span);
  }
  return spans;
}

/** The highest character after `beginning` among the keys left: a binary search over code points. */
async function highestCode(probe: KeyFinder, beginning: string, at: number): Promise<number> {
  // Some key left has a character above `code` there.
  const anyAbove = async (code: number) => {
    const key = await probe.after(beginning + String.fromCodePoint(code) + HIGHEST);
    return key?.startsWith(beginning) === true;
  };
  // Mostly ASCII: search up to 0x7e first, the rest of Unicode only when a key goes past it.
  let low = at;
  let high = at >= 0x7e || (await anyAbove(0x7e)) ? 0x10ffff : 0x7e;
  while (low < high) {
    let middle = Math.floor((low + high) / 2);
    if (middle >= 0xd800 && middle <= 0xdfff) middle = 0xd7ff;
    if (await anyAbove(middle)) low = middle === 0xd7ff ? 0xe000 : middle + 1;
    else high = middle;
  }
  return low;
}

/** Some key left has, after `beginning`, a character from `low` to `high`. */
async function occursAt(probe: KeyFinder, beginning: string, low: number, high: number): Promise<boolean> {
  const key = await probe.after(beginning + String.fromCodePoint(low - 1) + HIGHEST);
  const code = key?.startsWith(beginning) ? [...key.slice(beginning.length)][0]?.codePointAt(0) : undefined;
  return code !== undefined && code >= low && code <= high;
}
