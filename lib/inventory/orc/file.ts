import { type ColumnReader, type ColumnStreams, columnReader, ENCODING, KIND, STREAM } from './columns.ts';
import { OrcError } from './errors.ts';
import { COMPRESSION, type CompressionSettings, StreamInput } from './input.ts';
import { ProtoError, ProtoReader } from './protobuf.ts';
import type { ByteSource } from '../ranged-source.ts';

export interface StripeInformation {
  offset: number;
  indexLength: number;
  dataLength: number;
  footerLength: number;
  rows: number;
}

interface Type {
  kind: number;
  subtypes: number[];
  fieldNames: string[];
}

/** Enough of the file's end to hold a usual postscript and footer in one read. */
const TAIL_GUESS = 16 * 1024;
/**
 * Bounds on what a file's tail may claim, whatever its bytes say. A footer lists ~20 bytes per
 * stripe and a stripe footer ~10 per stream: 16 MiB is hundreds of thousands of either. Apache
 * ORC writes 256 KiB compression blocks; no writer uses more than a few MiB.
 */
export const ORC_LIMITS = { metadataBytes: 16 * 1024 * 1024, blockSize: 16 * 1024 * 1024 } as const;
/** ORC's default compressionBlockSize, when the postscript does not say. */
const DEFAULT_BLOCK_SIZE = 256 * 1024;
const VALUE_STREAMS = new Set<number>(Object.values(STREAM));
const ENCODING_KINDS = new Set<number>(Object.values(ENCODING));
const UTC_ZONES = new Set(['', 'UTC', 'GMT', 'Etc/UTC', 'Etc/GMT', 'Z']);

/**
 * An ORC file read by ranges: its tail (postscript and footer) once, then, stripe by stripe, only
 * the streams of the columns asked for. A reader of the subset S3 Inventory writes: a struct of
 * strings, booleans, integers and timestamps, ZLIB or no compression, RLE v1 and v2, direct and
 * dictionary strings, PRESENT streams. Anything else fails with the feature named, never a wrong value.
 */
export class OrcFile {
  readonly stripes: StripeInformation[];
  readonly rows: number;
  readonly #source: ByteSource;
  readonly #name: string;
  readonly #compression: CompressionSettings;
  /** Top-level field name → its column id and type kind. */
  readonly #fields: Map<string, { id: number; kind: number }>;

  private constructor(
    source: ByteSource,
    name: string,
    compression: CompressionSettings,
    footer: { stripes: StripeInformation[]; types: Type[]; rows: number },
  ) {
    this.#source = source;
    this.#name = name;
    this.#compression = compression;
    this.stripes = footer.stripes;
    this.rows = footer.rows;
    const root = footer.types[0];
    if (root?.kind !== KIND.STRUCT) throw new OrcError(`${name}: the root type is not a struct`);
    this.#fields = new Map(
      root.fieldNames.map((field, index) => {
        const id = root.subtypes[index] as number;
        return [field, { id, kind: footer.types[id]?.kind ?? -1 }];
      }),
    );
  }

  static async open(source: ByteSource, name: string): Promise<OrcFile> {
    if (source.size < 4) throw new OrcError(`${name} is ${source.size} bytes: too short for an ORC file`);
    let tailStart = Math.max(0, source.size - TAIL_GUESS);
    let tail = await source.read(tailStart, source.size);
    const postscriptLength = tail[tail.length - 1] as number;
    const postscript = corruptIfMalformed(
      () => parsePostscript(tail, postscriptLength, name),
      `${name} is not an ORC file, or is truncated: its postscript`,
    );
    const needed = 1 + postscriptLength + postscript.footerLength;
    if (needed > source.size) throw new OrcError(`${name}: its footer (${postscript.footerLength} bytes) is longer than the file`);
    if (postscript.footerLength > ORC_LIMITS.metadataBytes)
      throw new OrcError(
        `${name}: its footer of ${postscript.footerLength} bytes is over the ${ORC_LIMITS.metadataBytes} this reader reads`,
      );
    if (needed > tail.length) {
      tailStart = source.size - needed;
      tail = await source.read(tailStart, source.size);
    }
    const footerEnd = tail.length - 1 - postscriptLength;
    const footerBytes = StreamInput.whole(
      tail.subarray(footerEnd - postscript.footerLength, footerEnd),
      postscript.compression,
      `${name}'s footer`,
      ORC_LIMITS.metadataBytes,
    );
    const footer = corruptIfMalformed(() => parseFooter(footerBytes, name), `${name}'s footer`);
    checkStripes(footer.stripes, source.size - needed, name);
    return new OrcFile(source, name, postscript.compression, footer);
  }

  has(field: string): boolean {
    return this.#fields.has(field);
  }

  /** The top-level columns' names, in the file's order. */
  get fields(): string[] {
    return [...this.#fields.keys()];
  }

  /**
   * Readers of the columns `fields` in stripe `index`: two ranged reads, the stripe's footer and
   * then the span from the first to the last stream of those columns (the columns S3 Inventory
   * readers need are next to each other, so the span holds little else).
   */
  async stripe(index: number, fields: string[]): Promise<Map<string, ColumnReader>> {
    const stripe = this.stripes[index] as StripeInformation;
    const footerStart = stripe.offset + stripe.indexLength + stripe.dataLength;
    const footerBytes = await this.#source.read(footerStart, footerStart + stripe.footerLength);
    const footerName = `${this.#name}'s stripe ${index} footer`;
    const footer = corruptIfMalformed(
      () => parseStripeFooter(StreamInput.whole(footerBytes, this.#compression, footerName, ORC_LIMITS.metadataBytes), this.#name),
      footerName,
    );
    const columns = fields.map((field) => this.#column(field, index, footer));
    let start = Number.POSITIVE_INFINITY;
    let end = 0;
    for (const column of columns) {
      for (const stream of column.streams) {
        start = Math.min(start, stream.start);
        end = Math.max(end, stream.end);
      }
    }
    const bytes = start < end ? await this.#source.read(start, end) : Buffer.alloc(0);
    return new Map(columns.map((column) => [column.field, columnReader(column.kind, column.read(bytes, start))]));
  }

  /** Where a column's streams are in a stripe, and how to make them from the bytes read. */
  #column(field: string, index: number, footer: StripeFooter) {
    const stripe = this.stripes[index] as StripeInformation;
    const { id, kind } = this.#fields.get(field) ?? { id: -1, kind: -1 };
    if (id === -1) throw new OrcError(`${this.#name} has no column "${field}"`);
    if ((kind === KIND.TIMESTAMP || kind === KIND.TIMESTAMP_INSTANT) && !UTC_ZONES.has(footer.writerTimezone)) {
      throw new OrcError(
        `${this.#name} was written in time zone ${footer.writerTimezone}: this reader reads timestamps written in UTC only`,
        true,
      );
    }
    const what = `${this.#name} column "${field}" (stripe ${index})`;
    const streams: Array<{ kind: number; start: number; end: number }> = [];
    let offset = stripe.offset;
    for (const stream of footer.streams) {
      if (stream.column === id && VALUE_STREAMS.has(stream.kind))
        streams.push({ kind: stream.kind, start: offset, end: offset + stream.length });
      offset += stream.length;
    }
    if (offset > stripe.offset + stripe.indexLength + stripe.dataLength) throw new OrcError(`${what}: its streams run past the stripe`);
    const encoding = footer.encodings[id] ?? { kind: ENCODING.DIRECT, dictionarySize: 0 };
    if (encoding.dictionarySize > stripe.rows)
      throw new OrcError(`${what}: its dictionary of ${encoding.dictionarySize} entries is larger than the stripe's ${stripe.rows} rows`);
    const read = (bytes: Buffer, bytesStart: number): ColumnStreams => {
      const column: ColumnStreams = {
        what,
        streams: new Map(),
        raw: new Map(),
        compression: this.#compression,
        encoding: encoding.kind,
        dictionarySize: encoding.dictionarySize,
        rows: stripe.rows,
      };
      for (const stream of streams) {
        const raw = bytes.subarray(stream.start - bytesStart, stream.end - bytesStart);
        column.raw.set(stream.kind, raw);
        column.streams.set(stream.kind, new StreamInput(raw, this.#compression, what));
      }
      return column;
    };
    return { field, kind, streams, read };
  }
}

/** A protobuf message that does not parse is a corrupt file: the error says which part of it. */
function corruptIfMalformed<T>(parse: () => T, what: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ProtoError) throw new OrcError(`${what} does not parse (${error.message})`);
    throw error;
  }
}

function parsePostscript(tail: Buffer, length: number, name: string): { footerLength: number; compression: CompressionSettings } {
  if (length === 0 || length + 1 > tail.length) throw new OrcError(`${name} has no ORC postscript at its end`);
  const reader = new ProtoReader(tail, tail.length - 1 - length, tail.length - 1);
  let footerLength = -1;
  let compression = 0;
  let blockSize = DEFAULT_BLOCK_SIZE;
  let magic = '';
  for (let field = reader.field(); field; field = reader.field()) {
    if (field.number === 1) footerLength = reader.varint();
    else if (field.number === 2) compression = reader.varint();
    else if (field.number === 3) blockSize = reader.varint();
    else if (field.number === 8000) magic = reader.string();
    else reader.skip(field.type);
  }
  if (magic !== 'ORC' || footerLength < 0)
    throw new OrcError(`${name} is not an ORC file, or is truncated: its postscript has no "ORC" magic`);
  const codec = COMPRESSION[compression];
  if (!codec) throw new OrcError(`${name} uses compression kind ${compression}, which this reader does not know`, true);
  if (blockSize < 1 || blockSize > ORC_LIMITS.blockSize)
    throw new OrcError(`${name}'s compression block size ${blockSize} is outside 1 to ${ORC_LIMITS.blockSize} bytes`);
  return { footerLength, compression: { codec, blockSize } };
}

/** Every stripe lies within the file's data, before its tail, and holds at least a row. */
function checkStripes(stripes: StripeInformation[], dataEnd: number, name: string): void {
  stripes.forEach((stripe, index) => {
    const end = stripe.offset + stripe.indexLength + stripe.dataLength + stripe.footerLength;
    if (stripe.offset < 3 || end > dataEnd)
      throw new OrcError(`${name}: stripe ${index} (bytes ${stripe.offset} to ${end}) lies outside the file's data`);
    if (stripe.footerLength > ORC_LIMITS.metadataBytes)
      throw new OrcError(`${name}: stripe ${index}'s footer of ${stripe.footerLength} bytes is over ${ORC_LIMITS.metadataBytes}`);
  });
}

function parseFooter(bytes: Buffer, name: string): { stripes: StripeInformation[]; types: Type[]; rows: number } {
  const reader = new ProtoReader(bytes);
  const stripes: StripeInformation[] = [];
  const types: Type[] = [];
  let rows = 0;
  for (let field = reader.field(); field; field = reader.field()) {
    if (field.number === 3) stripes.push(parseStripeInformation(reader.message()));
    else if (field.number === 4) types.push(parseType(reader.message()));
    else if (field.number === 6) rows = reader.varint();
    else reader.skip(field.type);
  }
  if (types.length === 0) throw new OrcError(`${name}'s footer has no types`);
  if (stripes.reduce((sum, stripe) => sum + stripe.rows, 0) !== rows)
    throw new OrcError(`${name}'s stripes do not add up to its ${rows} rows`);
  return { stripes, types, rows };
}

function parseStripeInformation(reader: ProtoReader): StripeInformation {
  const stripe = { offset: 0, indexLength: 0, dataLength: 0, footerLength: 0, rows: 0 };
  const names = [undefined, 'offset', 'indexLength', 'dataLength', 'footerLength', 'rows'] as const;
  for (let field = reader.field(); field; field = reader.field()) {
    const name = names[field.number];
    if (name && field.type === 0) stripe[name] = reader.varint();
    else reader.skip(field.type);
  }
  return stripe;
}

function parseType(reader: ProtoReader): Type {
  const type: Type = { kind: -1, subtypes: [], fieldNames: [] };
  for (let field = reader.field(); field; field = reader.field()) {
    if (field.number === 1) type.kind = reader.varint();
    else if (field.number === 2) reader.varints(field.type, type.subtypes);
    else if (field.number === 3) type.fieldNames.push(reader.string());
    else reader.skip(field.type);
  }
  return type;
}

interface StripeFooter {
  streams: Array<{ kind: number; column: number; length: number }>;
  encodings: Array<{ kind: number; dictionarySize: number }>;
  writerTimezone: string;
}

function parseStripeFooter(bytes: Buffer, name: string): StripeFooter {
  const reader = new ProtoReader(bytes);
  const footer: StripeFooter = { streams: [], encodings: [], writerTimezone: '' };
  for (let field = reader.field(); field; field = reader.field()) {
    if (field.number === 1)
      footer.streams.push(parseFields(reader.message(), ['kind', 'column', 'length'], { kind: -1, column: -1, length: 0 }));
    else if (field.number === 2)
      footer.encodings.push(parseFields(reader.message(), ['kind', 'dictionarySize'], { kind: 0, dictionarySize: 0 }));
    else if (field.number === 3) footer.writerTimezone = reader.string();
    else reader.skip(field.type);
  }
  const unknown = footer.encodings.find((encoding) => !ENCODING_KINDS.has(encoding.kind));
  if (unknown) throw new OrcError(`${name} has a column encoding of kind ${unknown.kind}, which this reader does not know`, true);
  return footer;
}

/** A message of varint fields 1, 2, 3… into the named properties. */
function parseFields<T extends Record<string, number>>(reader: ProtoReader, names: Array<keyof T>, value: T): T {
  for (let field = reader.field(); field; field = reader.field()) {
    const name = names[field.number - 1];
    if (name !== undefined && field.type === 0) (value as Record<keyof T, number>)[name] = reader.varint();
    else reader.skip(field.type);
  }
  return value;
}
