import { deflateRawSync } from 'node:zlib';

/** A column of a written ORC file: its name and type, and one value per row (null for none). */
export type OrcColumn =
  | { name: string; type: 'string'; values: Array<string | null> }
  | { name: string; type: 'boolean'; values: Array<boolean | null> }
  | { name: string; type: 'bigint'; values: Array<number | null> }
  | { name: string; type: 'timestamp'; values: Array<Date | null> };

const KINDS = { boolean: 0, bigint: 4, string: 7, timestamp: 9 } as const;
const STREAM = { PRESENT: 0, DATA: 1, LENGTH: 2, SECONDARY: 5 } as const;
const ORC_EPOCH_SECONDS = 1_420_070_400;
const BLOCK_SIZE = 256 * 1024;

/**
 * Writes a small ORC file as S3 Inventory would lay it out: one struct of columns, ZLIB
 * compression, stripes of `stripeRows` rows, direct strings, RLE v1 integers, PRESENT streams for
 * nulls, timestamps in UTC. For the local run and the benchmark only: the reader is checked
 * against files written by Apache ORC's Java and C++ writers and by pyarrow, not by this.
 */
export function writeOrc(columns: OrcColumn[], stripeRows: number): Buffer {
  const rows = columns[0]?.values.length ?? 0;
  const parts: Buffer[] = [Buffer.from('ORC')];
  let offset = 3;
  const stripes: Buffer[] = [];
  for (let start = 0; start < rows; start += stripeRows) {
    const end = Math.min(rows, start + stripeRows);
    const { data, footer } = writeStripe(columns, start, end);
    stripes.push(
      message([
        varintField(1, offset),
        varintField(2, 0),
        varintField(3, data.length),
        varintField(4, footer.length),
        varintField(5, end - start),
      ]),
    );
    parts.push(data, footer);
    offset += data.length + footer.length;
  }
  const types = [
    message([
      varintField(1, 12),
      packedField(
        2,
        columns.map((_, index) => index + 1),
      ),
      ...columns.map((column) => bytesField(3, Buffer.from(column.name))),
    ]),
    ...columns.map((column) => message([varintField(1, KINDS[column.type])])),
  ];
  const footer = compress(
    message([
      varintField(1, 3),
      varintField(2, offset - 3),
      ...stripes.map((stripe) => bytesField(3, stripe)),
      ...types.map((type) => bytesField(4, type)),
      varintField(6, rows),
      varintField(8, 0),
    ]),
  );
  const postscript = message([
    varintField(1, footer.length),
    varintField(2, 1),
    varintField(3, BLOCK_SIZE),
    packedField(4, [0, 12]),
    varintField(5, 0),
    bytesField(8000, Buffer.from('ORC')),
  ]);
  return Buffer.concat([...parts, footer, postscript, Buffer.from([postscript.length])]);
}

function writeStripe(columns: OrcColumn[], start: number, end: number): { data: Buffer; footer: Buffer } {
  const streams: Buffer[] = [];
  const located: Buffer[] = [];
  columns.forEach((column, index) => {
    const values = column.values.slice(start, end);
    const present = values.map((value) => value !== null);
    const add = (kind: number, bytes: Buffer) => {
      const compressed = compress(bytes);
      streams.push(compressed);
      located.push(message([varintField(1, kind), varintField(2, index + 1), varintField(3, compressed.length)]));
    };
    if (present.includes(false)) add(STREAM.PRESENT, booleans(present));
    const set = values.filter((value) => value !== null);
    if (column.type === 'string') {
      const bytes = (set as string[]).map((value) => Buffer.from(value));
      add(STREAM.DATA, Buffer.concat(bytes));
      add(
        STREAM.LENGTH,
        integers(
          bytes.map((value) => value.length),
          false,
        ),
      );
    } else if (column.type === 'boolean') add(STREAM.DATA, booleans(set as boolean[]));
    else if (column.type === 'bigint') add(STREAM.DATA, integers(set as number[], true));
    else {
      const times = (set as Date[]).map((value) => value.getTime());
      add(
        STREAM.DATA,
        integers(
          times.map((ms) => Math.floor(ms / 1000) - ORC_EPOCH_SECONDS),
          true,
        ),
      );
      add(
        STREAM.SECONDARY,
        integers(
          times.map((ms) => encodeNanos((((ms % 1000) + 1000) % 1000) * 1_000_000)),
          false,
        ),
      );
    }
  });
  const encodings = [message([varintField(1, 0)]), ...columns.map(() => message([varintField(1, 0)]))];
  const footer = compress(
    message([
      ...located.map((stream) => bytesField(1, stream)),
      ...encodings.map((encoding) => bytesField(2, encoding)),
      bytesField(3, Buffer.from('UTC')),
    ]),
  );
  return { data: Buffer.concat(streams), footer };
}

/** Nanoseconds with their trailing decimal zeros counted in the low three bits, as ORC stores them. */
function encodeNanos(nanos: number): number {
  if (nanos === 0) return 0;
  if (nanos % 100 !== 0) return nanos * 8;
  let value = nanos / 100;
  let zeros = 1;
  while (value % 10 === 0 && zeros < 7) {
    value /= 10;
    zeros += 1;
  }
  return value * 8 + zeros;
}

/** RLE v1 literal runs of up to 128 varints (zigzag when signed). */
function integers(values: number[], signed: boolean): Buffer {
  const bytes: number[] = [];
  for (let start = 0; start < values.length; start += 128) {
    const end = Math.min(values.length, start + 128);
    bytes.push(256 - (end - start));
    for (let index = start; index < end; index += 1) {
      const value = values[index] as number;
      pushVarint(bytes, signed ? (value < 0 ? -value * 2 - 1 : value * 2) : value);
    }
  }
  return Buffer.from(bytes);
}

/** Booleans packed eight to a byte, first in the top bit, as byte RLE literal runs. */
function booleans(values: boolean[]): Buffer {
  const bytes: number[] = [];
  for (let index = 0; index < values.length; index += 8) {
    let byte = 0;
    for (let bit = 0; bit < 8; bit += 1) if (values[index + bit]) byte |= 0x80 >>> bit;
    bytes.push(byte);
  }
  const parts: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += 128) {
    const run = bytes.slice(start, start + 128);
    parts.push(Buffer.from([256 - run.length, ...run]));
  }
  return Buffer.concat(parts);
}

/** ZLIB chunks of at most BLOCK_SIZE bytes, each with its 3-byte header. */
function compress(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += BLOCK_SIZE) {
    const chunk = deflateRawSync(bytes.subarray(start, start + BLOCK_SIZE));
    const header = Buffer.alloc(3);
    header.writeUIntLE(chunk.length * 2, 0, 3);
    parts.push(header, chunk);
  }
  return Buffer.concat(parts);
}

function pushVarint(bytes: number[], value: number): void {
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  pushVarint(bytes, value);
  return Buffer.from(bytes);
}

const tag = (field: number, type: number) => varint(field * 8 + type);
const varintField = (field: number, value: number) => Buffer.concat([tag(field, 0), varint(value)]);
const bytesField = (field: number, bytes: Buffer) => Buffer.concat([tag(field, 2), varint(bytes.length), bytes]);
const packedField = (field: number, values: number[]) => bytesField(field, Buffer.concat(values.map(varint)));
const message = (fields: Buffer[]) => Buffer.concat(fields);
