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
