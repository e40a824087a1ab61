import { compareUtf8 } from '../core/utf8-order.ts';

/**
 * A slice of a bucket's key space: the keys after `startAfter` up to and including `end`. An
 * absent bound is open. ListObjectsV2 takes `startAfter` as is; the lister stops at the first key
 * beyond `end`, since S3 lists keys in UTF-8 binary order.
 */
export interface KeyRange {
  startAfter?: string;
  end?: string;
}

const HEX_DIGITS = '0123456789abcdef';

/**
 * Splits the keys under `prefix` at prefix+"0", prefix+"1", … prefix+"f": seventeen ranges. Keys
 * named `<sha256>.<ext>` spread evenly over the last sixteen ("0…" falls in ("0", "1"], "f…" in
 * the open last one). Together they hold every possible key exactly once, whatever its
 * characters, since each key falls between exactly one pair of consecutive boundaries: upper case
 * between "9" and "a", "/" and punctuation before "0", other letters and non-ASCII after "f".
 */
export function splitKeySpace(prefix = ''): KeyRange[] {
  const boundaries = [...HEX_DIGITS].map((digit) => `${prefix}${digit}`);
  const ranges: KeyRange[] = [];
  let startAfter: string | undefined;
  for (const end of boundaries) {
    ranges.push({ ...(startAfter !== undefined && { startAfter }), end });
    startAfter = end;
  }
  ranges.push({ startAfter });
  return ranges;
}

/** Whether `key` sorts after the end of `range`, in S3's order. */
export function isBeyondRange(key: string, range: KeyRange): boolean {
  return range.end !== undefined && compareUtf8(key, range.end) > 0;
}

/** The last code point of the run a key's character belongs to: digits, lower or upper case letters, other ASCII, the rest. */
function runEnd(code: number): number {
  if (code >= 0x30 && code <= 0x39) return 0x39;
  if (code >= 0x61 && code <= 0x7a) return 0x7a;
  if (code >= 0x41 && code <= 0x5a) return 0x5a;
  return code < 0x7f ? 0x7e : Math.min(code + 0x3f, 0x10ffff);
}

/**
 * Where to cut the rest of a range whose listing returned a full page, from `first` to `last`
 * (its keys in order; `before`, the key the page was listed after, or the range's start), up to
 * `end` (absent: open): at most `most` points, all after `last` and before `end`, in order. The
 * page's keys vary first at one position after a shared prefix P; the keys to come most likely go
 * on there, so the points are P followed by characters of the run `last`'s character belongs to
 * (digits, or letters), the next one, then at steps that double: `(last, P+c+1]`, `(P+c+1,
 * P+c+2]`, `(P+c+2, P+c+4]`, … `(P+c+2^k, end]`. When that run is spent (a page of
 * `…event-000999`), the position where the page's first key left `before` is used instead (the
 * day of `logs/2026/01/02/…`). Whatever the keys, the pieces cover the rest exactly once; a piece
 * that holds no key costs one listing call.
 */
export function splitPoints(before: string, first: string, last: string, end: string | undefined, most: number): string[] {
  const lastChars = [...last];
  const within = pointsAt(lastChars, sharedLength([...first], lastChars), end, most);
  return within.length > 0 ? within : pointsAt(lastChars, sharedLength([...before], lastChars), end, most);
}

function sharedLength(a: string[], b: string[]): number {
  let shared = 0;
  while (shared < a.length && a[shared] === b[shared]) shared += 1;
  return shared;
}

/** The points after `last` at position `at`: its prefix, then the next characters of its character's run. */
function pointsAt(last: string[], at: number, end: string | undefined, most: number): string[] {
  const varying = last[at]?.codePointAt(0);
  if (varying === undefined) return [];
  const prefix = last.slice(0, at).join('');
  const points: string[] = [];
  const runLast = runEnd(varying);
  // The next character, then steps that double: near ones where keys most likely go on, few empty pieces past them.
  for (let step = 1; varying + step <= runLast && points.length < most; step *= 2) {
    const code = varying + step;
    if (code >= 0xd800 && code <= 0xdfff) continue;
    const point = prefix + String.fromCodePoint(code);
    if (end !== undefined && compareUtf8(point, end) >= 0) break;
    points.push(point);
  }
  return points;
}
