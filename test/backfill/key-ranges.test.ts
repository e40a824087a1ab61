import { describe, expect, it } from 'vitest';
import { isBeyondRange, splitKeySpace, type KeyRange } from '../../lib/backfill/key-ranges.ts';
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
