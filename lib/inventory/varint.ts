/** Where a varint's bytes come from: one at a time, each read checked by the source. */
export interface ByteStream {
  byte(): number;
}

/**
 * An unsigned base-128 varint (protobuf, Thrift and ORC's integer streams write them alike), as a
 * number: longer than 10 bytes, or past 2^53, it is refused through `fail` (given what its
 * subject has or holds), never misread.
 */
export function readVarint(source: ByteStream, fail: (problem: string) => Error): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = source.byte();
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 128;
    if (scale > 2 ** 63) throw fail('has a varint longer than 10 bytes');
  }
  if (value > Number.MAX_SAFE_INTEGER) throw fail('holds an integer over 2^53, which this reader does not represent exactly');
  return value;
}
