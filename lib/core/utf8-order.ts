/**
 * Compares strings in the order S3 lists keys: by the bytes of their UTF-8 encoding, which is
 * code point order. JavaScript's `<` compares UTF-16 code units, which puts U+E000–U+FFFF after
 * characters outside the Basic Multilingual Plane (surrogate pairs); this corrects that case
 * without encoding either string.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    if (isSurrogate(x) && y >= 0xe000) return 1;
    if (isSurrogate(y) && x >= 0xe000) return -1;
    return x - y;
  }
  return a.length - b.length;
}

function isSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdfff;
}
