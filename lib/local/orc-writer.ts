import { deflateRawSync } from 'node:zlib';

/** A column of a written ORC file: its name and type, and one value per row (null for none). */
export type OrcColumn =
  | { name: string; type: 'string'; values: Array<string | null> }
  | { name: string; type: 'boolean'; values: Array<boolean | null> }
  | { name: string; type: 'bigint'; values: Array<number | null> }
  | { name: string; type: 'timestamp'; values: Array<Date | null> };

const KINDS = { boolean: 0, bigint: 4, string: 7, timestamp: 9 } as const;
const STREAM = { PRESENT: 0, DATA: 1, LENGTH: 2, DICTIONARY_DATA: 3, SECONDARY: 5 } as const;
const ENCODING = { DIRECT: 0, DIRECT_V2: 2, DICTIONARY_V2: 3 } as const;
const DICTIONARY_THRESHOLD = 0.8;
const MAX_RUN = 512;
/** The bit widths a DIRECT run may have, in the order of their 5-bit codes. */
const DIRECT_WIDTHS = [...Array.from({ length: 24 }, (_, index) => index + 1), 26, 28, 30, 32, 40, 48, 56, 64];
const ORC_EPOCH_SECONDS = 1_420_070_400;
const BLOCK_SIZE = 256 * 1024;

/**
 * Writes a small ORC file as S3 Inventory would lay it out: one struct of columns, ZLIB
 * compression, stripes of `stripeRows` rows, RLE v2 integers, strings in a dictionary or direct as
 * Apache ORC's writer chooses, PRESENT streams for nulls, timestamps in UTC. For the local run and
 * the benchmark only: the reader is checked against files written by Apache ORC's Java and C++
 * writers and by pyarrow, not by this.
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
  const encodings: Buffer[] = [message([varintField(1, ENCODING.DIRECT)])];
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
      encodings.push(writeStrings(set as string[], add));
      return;
    }
    encodings.push(message([varintField(1, column.type === 'boolean' ? ENCODING.DIRECT : ENCODING.DIRECT_V2)]));
    if (column.type === 'boolean') add(STREAM.DATA, booleans(set as boolean[]));
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
  const footer = compress(
    message([
      ...located.map((stream) => bytesField(1, stream)),
      ...encodings.map((encoding) => bytesField(2, encoding)),
      bytesField(3, Buffer.from('UTC')),
    ]),
  );
  return { data: Buffer.concat(streams), footer };
}

/**
 * A string column's streams, and its encoding: a sorted dictionary when its distinct values are at
 * most 80% of its values (Apache ORC's default `orc.dictionary.key.threshold`), else direct.
 */
function writeStrings(values: string[], add: (kind: number, bytes: Buffer) => void): Buffer {
  const addText = (kind: number, strings: string[]) => {
    const bytes = strings.map((value) => Buffer.from(value));
    add(kind, Buffer.concat(bytes));
    add(
      STREAM.LENGTH,
      integers(
        bytes.map((value) => value.length),
        false,
      ),
    );
  };
  const distinct = [...new Set(values)].sort();
  if (distinct.length > DICTIONARY_THRESHOLD * values.length) {
    addText(STREAM.DATA, values);
    return message([varintField(1, ENCODING.DIRECT_V2)]);
  }
  const entries = new Map(distinct.map((value, entry) => [value, entry]));
  add(
    STREAM.DATA,
    integers(
      values.map((value) => entries.get(value) as number),
      false,
    ),
  );
  addText(STREAM.DICTIONARY_DATA, distinct);
  return message([varintField(1, ENCODING.DICTIONARY_V2), varintField(2, distinct.length)]);
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

/**
 * Integer RLE v2, as Apache ORC's writer lays it out in the cases a report has: a run of three or
 * more values with one step between them is a DELTA run of fixed step; other values go into
 * DIRECT runs, bit-packed at the narrowest width ORC allows. Runs hold at most 512 values.
 */
function integers(values: number[], signed: boolean): Buffer {
  const bytes: number[] = [];
  let literals: number[] = [];
  const flush = () => {
    if (literals.length > 0) directRun(bytes, literals, signed);
    literals = [];
  };
  for (let at = 0; at < values.length; ) {
    const run = fixedStepRun(values, at);
    if (run >= 3) {
      flush();
      deltaRun(bytes, values, at, run, signed);
      at += run;
      continue;
    }
    literals.push(values[at] as number);
    if (literals.length === MAX_RUN) flush();
    at += 1;
  }
  flush();
  return Buffer.from(bytes);
}

/** How many values from `at` (at most 512) keep the step between the first two. */
function fixedStepRun(values: number[], at: number): number {
  if (at + 1 >= values.length) return values.length - at;
  const step = (values[at + 1] as number) - (values[at] as number);
  let end = at + 2;
  while (end < values.length && end - at < MAX_RUN && (values[end] as number) - (values[end - 1] as number) === step) end += 1;
  return end - at;
}

function deltaRun(bytes: number[], values: number[], at: number, length: number, signed: boolean): void {
  const first = values[at] as number;
  bytes.push(0xc0 | ((length - 1) >>> 8), (length - 1) & 0xff);
  pushVarint(bytes, signed ? zigzag(first) : first);
  pushVarint(bytes, zigzag((values[at + 1] as number) - first));
}

function directRun(bytes: number[], values: number[], signed: boolean): void {
  const encoded = signed ? values.map(zigzag) : values;
  const largest = Math.max(...encoded);
  let bits = 1;
  while (2 ** bits <= largest) bits += 1;
  const code = DIRECT_WIDTHS.findIndex((allowed) => allowed >= bits);
  const width = DIRECT_WIDTHS[code] as number;
  bytes.push(0x40 | (code << 1) | ((encoded.length - 1) >>> 8), (encoded.length - 1) & 0xff);
  let byte = 0;
  let used = 0;
  for (const value of encoded) {
    for (let bit = width - 1; bit >= 0; bit -= 1) {
      byte = (byte << 1) | (Math.floor(value / 2 ** bit) % 2);
      used += 1;
      if (used === 8) {
        bytes.push(byte);
        byte = 0;
        used = 0;
      }
    }
  }
  if (used > 0) bytes.push(byte << (8 - used));
}

const zigzag = (value: number) => (value < 0 ? -value * 2 - 1 : value * 2);

/** Booleans packed eight to a byte, first in the top bit, in byte RLE: runs of 3–130 equal bytes, else literals. */
function booleans(values: boolean[]): Buffer {
  const packed: number[] = [];
  for (let index = 0; index < values.length; index += 8) {
    let byte = 0;
    for (let bit = 0; bit < 8; bit += 1) if (values[index + bit]) byte |= 0x80 >>> bit;
    packed.push(byte);
  }
  const bytes: number[] = [];
  let literals: number[] = [];
  const flush = () => {
    if (literals.length > 0) bytes.push(256 - literals.length, ...literals);
    literals = [];
  };
  for (let at = 0; at < packed.length; ) {
    let run = 1;
    while (at + run < packed.length && run < 130 && packed[at + run] === packed[at]) run += 1;
    if (run >= 3) {
      flush();
      bytes.push(run - 3, packed[at] as number);
      at += run;
      continue;
    }
    literals.push(packed[at] as number);
    if (literals.length === 128) flush();
    at += 1;
  }
  flush();
  return Buffer.from(bytes);
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
