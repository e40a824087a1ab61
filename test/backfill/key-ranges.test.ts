import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isBeyondRange, splitKeySpace, splitPoints, type KeyRange } from '../../lib/backfill/key-ranges.ts';
import { compareUtf8 } from '../../lib/core/utf8-order.ts';

const ALPHABET = ['0', '9', 'a', 'f', 'g', 'z', 'A', 'Z', '/', '.', '-', ' ', '~', 'é', '日', '\uE000', '\uFFFD', '😀', '𝄞'];

function randomKey(random: () => number): string {
  const length = 1 + Math.floor(random() * 6);
  return Array.from({ length }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join('');
}

/** A small deterministic generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const contains = (range: KeyRange, key: string) =>
  (range.startAfter === undefined || compareUtf8(key, range.startAfter) > 0) && !isBeyondRange(key, range);

describe('compareUtf8', () => {
  it('orders strings as their UTF-8 bytes do', () => {
    const random = seeded(7);
    for (let index = 0; index < 5_000; index += 1) {
      const a = randomKey(random);
      const b = randomKey(random);
      expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
    }
  });
});

describe('splitKeySpace', () => {
  it('splits at the sixteen hex digits into seventeen ranges', () => {
    const ranges = splitKeySpace('photos/');
    expect(ranges).toHaveLength(17);
    expect(ranges[0]).toEqual({ end: 'photos/0' });
    expect(ranges[1]).toEqual({ startAfter: 'photos/0', end: 'photos/1' });
    expect(ranges[16]).toEqual({ startAfter: 'photos/f' });
  });

  it.each(['', 'photos/'])('puts every possible key under prefix "%s" in exactly one range', (prefix) => {
    const ranges = splitKeySpace(prefix);
    const random = seeded(42);
    const keys = [
      ...Array.from({ length: 5_000 }, () => prefix + randomKey(random)),
      ...['0', 'f', 'fff', 'g', 'A', 'Z9', '/', '', '0'.repeat(64), `${'f'.repeat(64)}.jpg`].map((key) => prefix + key),
    ];
    for (const key of keys) {
      expect(
        ranges.filter((range) => contains(range, key)),
        key,
      ).toHaveLength(1);
    }
  });

  it('spreads <sha256>.<ext> keys over the sixteen ranges after the first', () => {
    const ranges = splitKeySpace();
    expect(contains(ranges[1] as KeyRange, `0${'a'.repeat(63)}.jpg`)).toBe(true);
    expect(contains(ranges[15] as KeyRange, `e${'a'.repeat(63)}.jpg`)).toBe(true);
    expect(contains(ranges[16] as KeyRange, `f${'a'.repeat(63)}.jpg`)).toBe(true);
  });
});

describe('splitPoints', () => {
  const codePoints = fc.oneof(
    fc.constantFrom(...ALPHABET),
    fc
      .integer({ min: 0, max: 0x10ffff })
      .filter((code) => code < 0xd800 || code > 0xdfff)
      .map((code) => String.fromCodePoint(code)),
  );
  const keys = fc.array(codePoints, { minLength: 1, maxLength: 10 }).map((chars) => chars.join(''));

  it('keeps every key in exactly one range through any sequence of splits of full pages', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(keys, { minLength: 2, maxLength: 400 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 8 })), { maxLength: 40 }),
        (keySet, splits) => {
          let ranges: KeyRange[] = splitKeySpace();
          for (const [pick, at, most] of splits) {
            // A range listed from its start up to one of its keys, the page's last, is cut after it.
            const index = pick % ranges.length;
            const range = ranges[index] as KeyRange;
            const inside = keySet.filter((key) => contains(range, key)).sort(compareUtf8);
            if (inside.length < 2) continue;
            const last = inside[1 + (at % (inside.length - 1))] as string;
            const points = splitPoints(range.startAfter ?? '', inside[0] as string, last, range.end, most);
            expect(points.length).toBeLessThanOrEqual(most);
            points.forEach((point, position) => {
              expect(compareUtf8(point, last)).toBeGreaterThan(0);
              if (position > 0) expect(compareUtf8(point, points[position - 1] as string)).toBeGreaterThan(0);
              if (range.end !== undefined) expect(compareUtf8(point, range.end)).toBeLessThan(0);
            });
            if (points.length === 0) continue;
            const pieces = points.map((point, position) => {
              const end = points[position + 1] ?? range.end;
              return { startAfter: point, ...(end !== undefined && { end }) };
            });
            ranges = [...ranges.slice(0, index), { ...range, end: points[0] }, ...pieces, ...ranges.slice(index + 1)];
          }
          for (const key of keySet)
            expect(
              ranges.filter((range) => contains(range, key)),
              key,
            ).toHaveLength(1);
          ranges.slice(1).forEach((range, index) => {
            expect(range.startAfter).toBe(ranges[index]?.end);
          });
        },
      ),
      { seed: 34, numRuns: 400 },
    );
  });

  it('cuts where a page of keys varies: the next character of its run, then steps that double', () => {
    expect(splitPoints('a', 'a/b/00ab.jpg', 'a/b/03ff.jpg', 'b', 8)).toEqual(['a/b/04', 'a/b/05', 'a/b/07']);
    expect(splitPoints('f', 'logs/2026/01/01/x', 'logs/2026/01/02/y', undefined, 3)).toEqual([
      'logs/2026/01/03',
      'logs/2026/01/04',
      'logs/2026/01/06',
    ]);
    // The page's own position is spent at its last key's 9: the day where it left the page before is cut instead.
    expect(splitPoints('logs/2026/01/01/e-0999', 'logs/2026/01/02/e-1000', 'logs/2026/01/02/e-1999', undefined, 3)).toEqual([
      'logs/2026/01/03',
      'logs/2026/01/04',
      'logs/2026/01/06',
    ]);
    expect(splitPoints('', 'a0', 'a9', 'a:', 8)).toEqual([]);
    expect(splitPoints('a', 'a0', 'a1', 'a2', 8)).toEqual([]);
  });
});
