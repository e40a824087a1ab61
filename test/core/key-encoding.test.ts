import { describe, expect, it } from 'vitest';
import { decodeS3Key, encodeS3Key } from '../../lib/core/key-encoding.ts';

describe('decodeS3Key', () => {
  it.each([
    ['plain.jpg', 'plain.jpg'],
    ['with+space.txt', 'with space.txt'],
    ['literal%2Bplus.txt', 'literal+plus.txt'],
    ['percent%25.txt', 'percent%.txt'],
    ['dir/sub/file.txt', 'dir/sub/file.txt'],
    ['caf%C3%A9+%E6%97%A5%E6%9C%AC.png', 'café 日本.png'],
    ["unencoded!'()*~-_.txt", "unencoded!'()*~-_.txt"],
    ['a%2Fb', 'a/b'],
  ])('decodes %s', (encoded, decoded) => {
    expect(decodeS3Key(encoded)).toBe(decoded);
  });

  it.each(['bad%zz', 'truncated%2', 'invalid-utf8%C3%28'])('rejects the malformed escape in %s', (encoded) => {
    expect(() => decodeS3Key(encoded)).toThrow(URIError);
  });

  it('round-trips awkward keys through the encoding S3 uses', () => {
    const keys = ['a b', 'a+b', '100%', 'x/y/z', 'ünïcødé/日本語', '"quoted",comma', `${'k'.repeat(1_020)}.bin`, 'tab\tnew\nline'];
    for (const key of keys) expect(decodeS3Key(encodeS3Key(key))).toBe(key);
    expect(encodeS3Key('a b+c/d%')).toBe('a+b%2Bc/d%25');
  });
});
