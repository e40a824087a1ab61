/**
 * A minimal Parquet file written byte by byte with Thrift's compact protocol: one row group of
 * required UTF-8 columns, PLAIN and uncompressed, one data page each. Tests forge what a writer
 * never would (a page header's claims, a footer's nesting) in an otherwise valid file.
 */

type Field = [id: number, type: number, bytes: Buffer];

const T = { I32: 5, I64: 6, BINARY: 8, LIST: 9, STRUCT: 12 } as const;

/** An unsigned base-128 varint, as protobuf, Thrift and ORC write them. */
export function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

const zigzag = (value: number) => varint(value >= 0 ? value * 2 : -value * 2 - 1);
const int = (id: number, value: number, type: number = T.I32): Field => [id, type, zigzag(value)];
const binary = (id: number, value: string): Field => [id, T.BINARY, Buffer.concat([varint(Buffer.byteLength(value)), Buffer.from(value)])];
const struct = (id: number, fields: Field[]): Field => [id, T.STRUCT, encodeStruct(fields)];

function list(id: number, elementType: number, elements: Buffer[]): Field {
  const header =
    elements.length < 15
      ? Buffer.from([(elements.length << 4) | elementType])
      : Buffer.concat([Buffer.from([0xf0 | elementType]), varint(elements.length)]);
  return [id, T.LIST, Buffer.concat([header, ...elements])];
}

export function encodeStruct(fields: Field[]): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const [id, type, bytes] of fields) {
    const delta = id - last;
    parts.push(delta > 0 && delta <= 15 ? Buffer.from([(delta << 4) | type]) : Buffer.concat([Buffer.from([type]), zigzag(id)]));
    parts.push(bytes);
    last = id;
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export interface ForgedParquet {
  /** What the first page header says its page inflates to (its true size when absent). */
  claimedPageBytes?: number;
  /** Structs nested this deep inside an extra field of the footer. */
  footerNesting?: number;
}

/** A Parquet file of `rows` (bucket and key), with the forgeries asked for. */
export function parquetFile(rows: Array<{ bucket: string; key: string }>, forged: ForgedParquet = {}): Buffer {
  const parts: Buffer[] = [Buffer.from('PAR1')];
  let offset = 4;
  const chunks: Field[][] = [];
  for (const [index, name] of (['bucket', 'key'] as const).entries()) {
    const data = Buffer.concat(rows.map((row) => Buffer.concat([Buffer.alloc(4, 0), Buffer.from(row[name])])));
    let at = 0;
    for (const row of rows) {
      data.writeUInt32LE(Buffer.byteLength(row[name]), at);
      at += 4 + Buffer.byteLength(row[name]);
    }
    const claimed = index === 0 && forged.claimedPageBytes !== undefined ? forged.claimedPageBytes : data.length;
    const header = encodeStruct([
      int(1, 0),
      int(2, claimed),
      int(3, data.length),
      struct(5, [int(1, rows.length), int(2, 0), int(3, 3), int(4, 3)]),
    ]);
    const pageOffset = offset;
    parts.push(header, data);
    offset += header.length + data.length;
    chunks.push([
      int(2, pageOffset, T.I64),
      struct(3, [
        int(1, 6),
        list(2, T.I32, [zigzag(0)]),
        list(3, T.BINARY, [binary(0, name)[2]]),
        int(4, 0),
        int(5, rows.length, T.I64),
        int(6, header.length + data.length, T.I64),
        int(7, header.length + data.length, T.I64),
        int(9, pageOffset, T.I64),
      ]),
    ]);
  }
  const column = (name: string) => encodeStruct([int(1, 6), int(3, 0), binary(4, name), int(6, 0)]);
  const footerFields: Field[] = [
    int(1, 1),
    list(2, T.STRUCT, [encodeStruct([binary(4, 'schema'), int(5, 2)]), column('bucket'), column('key')]),
    int(3, rows.length, T.I64),
    list(4, T.STRUCT, [
      encodeStruct([
        list(
          1,
          T.STRUCT,
          chunks.map((fields) => encodeStruct(fields)),
        ),
        int(2, offset - 4, T.I64),
        int(3, rows.length, T.I64),
      ]),
    ]),
  ];
  if (forged.footerNesting) footerFields.push([99, T.STRUCT, nested(forged.footerNesting)]);
  const footer = encodeStruct(footerFields);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(footer.length);
  parts.push(footer, length, Buffer.from('PAR1'));
  return Buffer.concat(parts);
}

/** A struct whose field 1 is a struct whose field 1 is …, `depth` levels deep (its bytes: each level's header, then the stops). */
function nested(depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth - 1, (1 << 4) | T.STRUCT), Buffer.alloc(depth, 0)]);
}
