import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { KeyRange } from '../../lib/backfill/key-ranges.ts';
import { isBeyondRange } from '../../lib/backfill/key-ranges.ts';
import { type KeyFinder, spanSplitPoints } from '../../lib/backfill/span-split.ts';
import { compareUtf8 } from '../../lib/core/utf8-order.ts';
import { sampleObject } from '../../lib/local/sample-objects.ts';

const contains = (range: KeyRange, key: string) =>
  (range.startAfter === undefined || compareUtf8(key, range.startAfter) > 0) && !isBeyondRange(key, range);

/** S3's answer to a listing of one key after `after`, over keys held in memory, within a range. */
function finder(sorted: string[], range: KeyRange): KeyFinder & { calls: number } {
  return {
    calls: 0,
    async after(after: string) {
      this.calls += 1;
      return sorted.find((key) => compareUtf8(key, after) > 0 && contains(range, key));
    },
  };
}

/** The pieces of `range` after cutting it at `points`: the range up to the first, then one per point. */
function cut(range: KeyRange, points: string[]): KeyRange[] {
  return [
    { ...range, end: points[0] as string },
    ...points.map((point, index) => {
      const end = points[index + 1] ?? range.end;
      return { startAfter: point, ...(end !== undefined && { end }) };
    }),
  ];
}

describe('spanSplitPoints', () => {
  const codePoints = fc.oneof(
    fc.constantFrom('0', '7', '9', 'a', 'f', 'z', 'A', 'Z', '/', '-', ' ', '~', '\u007f', 'é', '\uFFFD', '😀'),
    fc
      .integer({ min: 0x20, max: 0x10ffff })
      .filter((code) => code < 0xd800 || code > 0xdfff)
      .map((code) => String.fromCodePoint(code)),
  );
  const keys = fc.array(codePoints, { minLength: 1, maxLength: 8 }).map((chars) => chars.join(''));

  it('keeps every key in exactly one range through any sequence of splits, each piece after the key it was cut at', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keys, { minLength: 2, maxLength: 300 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 16 })), { maxLength: 30 }),
        async (keySet, splits) => {
          const sorted = [...keySet].sort(compareUtf8);
          let ranges: KeyRange[] = [{}];
          for (const [pick, at, most] of splits) {
            const index = pick % ranges.length;
            const range = ranges[index] as KeyRange;
            const inside = sorted.filter((key) => contains(range, key));
            if (inside.length < 2) continue;
            // The range was listed up to one of its keys, the last of a full page; the rest is cut.
            const last = inside[at % (inside.length - 1)] as string;
            const points = await spanSplitPoints(finder(sorted, range), last, range.end, most);
            expect(points.length).toBeLessThanOrEqual(most);
            points.forEach((point, position) => {
              expect(compareUtf8(point, last)).toBeGreaterThan(0);
              if (position > 0) expect(compareUtf8(point, points[position - 1] as string)).toBeGreaterThan(0);
              if (range.end !== undefined) expect(compareUtf8(point, range.end)).toBeLessThan(0);
            });
            if (points.length > 0) ranges = [...ranges.slice(0, index), ...cut(range, points), ...ranges.slice(index + 1)];
          }
          for (const key of sorted) expect(ranges.filter((range) => contains(range, key)).length, key).toBe(1);
        },
      ),
      { seed: 5, numRuns: 300 },
    );
  });

  const split = async (keys: string[], last: string, most = 16) => {
    const sorted = [...keys].sort(compareUtf8);
    const probe = finder(sorted, {});
    const points = await spanSplitPoints(probe, last, undefined, most);
    const pieces = cut({}, points).map((range) => sorted.filter((key) => compareUtf8(key, last) > 0 && contains(range, key)).length);
    return { points, pieces, calls: probe.calls };
  };

  it('splits <sha256> names at each hex digit left, in a few dozen calls', async () => {
    const keys = Array.from({ length: 4_000 }, (_, index) => sampleObject(index).key);
    const last = [...keys].sort(compareUtf8)[999] as string;
    expect(last[0]).toBe('3');
    const { points, pieces, calls } = await split(keys, last);
    // The digits and the letters a to f: the uppercase run, absent, holds no point.
    expect(points).toEqual(['4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f']);
    expect(Math.min(...pieces.slice(1))).toBeGreaterThan(150);
    expect(calls).toBeLessThan(40);
  });

  it('splits keys under one deep prefix at the character after it', async () => {
    const keys = Array.from({ length: 4_000 }, (_, index) => sampleObject(index, 'deep-prefix').key);
    const prefix = (keys[0] as string).slice(0, (keys[0] as string).lastIndexOf('/') + 1);
    const { points, pieces } = await split(keys, [...keys].sort(compareUtf8)[999] as string);
    expect(points.length).toBeGreaterThan(8);
    expect(points.every((point) => point.startsWith(prefix) && point.length === prefix.length + 1)).toBe(true);
    expect(pieces.filter((count) => count > 0).length).toBeGreaterThan(8);
  });

  it('splits date paths where the dates left differ', async () => {
    const keys = Array.from({ length: 4_000 }, (_, index) => sampleObject(index, 'dates').key);
    const sorted = [...keys].sort(compareUtf8);
    const { points, pieces } = await split(keys, sorted[999] as string);
    expect(points.length).toBeGreaterThan(0);
    expect(points.every((point) => point.startsWith('logs/'))).toBe(true);
    expect(pieces.filter((count) => count > 0).length).toBeGreaterThan(1);
  });

  it('makes no point when no key is left after the last one', async () => {
    expect((await split(['a', 'b', 'c'], 'c')).points).toEqual([]);
  });
});
