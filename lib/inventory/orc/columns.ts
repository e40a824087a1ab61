import { OrcError } from './errors.ts';
import { type CompressionSettings, StreamInput } from './input.ts';
import { StreamText } from './stream-text.ts';
import { BooleanRle, IntRleV1, IntRleV2, type IntDecoder } from './rle.ts';

/** Values of one column, `count` rows at a time; `null` where the row has none. */
export interface ColumnReader {
  read(count: number): Array<string | number | boolean | null>;
  /** Has the chunks of the next values inflated, and those after them on their way (see `StreamInput.inflateAhead`). */
  inflateAhead(): Promise<void>;
}

type ValueReader = Pick<ColumnReader, 'read'>;

/**
 * Chunks inflated ahead in each stream: 4 of ORC's usual 256 KiB hold more than a batch of keys,
 * so the decoders rarely reach a chunk not inflated yet.
 */
const CHUNKS_AHEAD = 4;

/** What a column reader is built from: its streams by kind, and its encoding. */
export interface ColumnStreams {
  what: string;
  /** Stream kind → its decompressing input. */
  streams: Map<number, StreamInput>;
  /** Stream kind → its whole compressed bytes (dictionaries are read whole). */
  raw: Map<number, Buffer>;
  compression: CompressionSettings;
  /** One of ENCODING. */
  encoding: number;
  dictionarySize: number;
  /** Rows of the stripe: no column holds more values. */
  rows: number;
}

/** Column encodings of a stripe footer. */
export const ENCODING = { DIRECT: 0, DICTIONARY: 1, DIRECT_V2: 2, DICTIONARY_V2: 3 } as const;

const isDictionary = (encoding: number) => encoding === ENCODING.DICTIONARY || encoding === ENCODING.DICTIONARY_V2;
const isV2 = (encoding: number) => encoding === ENCODING.DIRECT_V2 || encoding === ENCODING.DICTIONARY_V2;

export const STREAM = { PRESENT: 0, DATA: 1, LENGTH: 2, DICTIONARY_DATA: 3, SECONDARY: 5 } as const;

/**
 * The most a dictionary may inflate to: its entries are the distinct values of one column in one
 * stripe (a stripe holds some 64 MiB of values before it is written).
 */
const MAX_DICTIONARY_BYTES = 128 * 1024 * 1024;

/** Seconds from 1970 to ORC's timestamp epoch, 2015-01-01T00:00:00 UTC. */
const ORC_EPOCH_SECONDS = 1_420_070_400;

/** ORC type kinds the reader decodes, by their number in the footer. */
export const KIND = {
  BOOLEAN: 0,
  BYTE: 1,
  SHORT: 2,
  INT: 3,
  LONG: 4,
  STRING: 7,
  TIMESTAMP: 9,
  STRUCT: 12,
  VARCHAR: 16,
  CHAR: 17,
  TIMESTAMP_INSTANT: 18,
} as const;

export function columnReader(kind: number, column: ColumnStreams): ColumnReader {
  const { read } = valueReader(kind, column);
  const inputs = [...column.streams.values()];
  return {
    read,
    async inflateAhead() {
      await Promise.all(inputs.map((input) => input.inflateAhead(CHUNKS_AHEAD)));
    },
  };
}

function valueReader(kind: number, column: ColumnStreams): ValueReader {
  switch (kind) {
    case KIND.STRING:
    case KIND.VARCHAR:
    case KIND.CHAR:
      return isDictionary(column.encoding) ? dictionaryStrings(column) : directStrings(column);
    case KIND.BOOLEAN: {
      const values = new BooleanRle(need(column, STREAM.DATA));
      return withPresent(column, () => values.next());
    }
    case KIND.SHORT:
    case KIND.INT:
    case KIND.LONG: {
      const values = ints(column, STREAM.DATA, true);
      return withPresent(column, () => values.next());
    }
    case KIND.TIMESTAMP:
    case KIND.TIMESTAMP_INSTANT:
      return timestamps(column);
    default:
      throw new OrcError(`${column.what} is of ORC type kind ${kind}, which this reader does not decode`, true);
  }
}

function need(column: ColumnStreams, kind: number): StreamInput {
  const stream = column.streams.get(kind);
  if (!stream) throw new OrcError(`${column.what} has no ${Object.entries(STREAM).find(([, value]) => value === kind)?.[0]} stream`);
  return stream;
}

function ints(column: ColumnStreams, kind: number, signed: boolean): IntDecoder {
  const input = need(column, kind);
  return isV2(column.encoding) ? new IntRleV2(input, signed, column.what) : new IntRleV1(input, signed, column.what);
}

/** Rows without a value are marked in the PRESENT stream; the value streams hold only the others. */
function withPresent(column: ColumnStreams, value: () => string | number | boolean): ValueReader {
  const presentInput = column.streams.get(STREAM.PRESENT);
  const present = presentInput && new BooleanRle(presentInput);
  return {
    read(count) {
      const values: Array<string | number | boolean | null> = new Array(count);
      for (let index = 0; index < count; index += 1) values[index] = present && !present.next() ? null : value();
      return values;
    },
  };
}

/** The next length of a LENGTH stream, which a corrupt file can make negative. */
function lengthOf(lengths: IntDecoder, column: ColumnStreams): number {
  const length = lengths.next();
  if (length < 0) throw new OrcError(`${column.what} has a negative string length`);
  return length;
}

/** Direct strings: each value's length from the LENGTH stream, its bytes from the DATA stream. */
function directStrings(column: ColumnStreams): ValueReader {
  const text = new StreamText(need(column, STREAM.DATA));
  const lengths = ints(column, STREAM.LENGTH, false);
  return withPresent(column, () => text.next(lengthOf(lengths, column)));
}

function dictionaryStrings(column: ColumnStreams): ValueReader {
  const lengths = ints(column, STREAM.LENGTH, false);
  const bytes = StreamInput.whole(
    column.raw.get(STREAM.DICTIONARY_DATA) ?? Buffer.alloc(0),
    column.compression,
    column.what,
    MAX_DICTIONARY_BYTES,
  );
  const dictionary: string[] = [];
  let at = 0;
  for (let entry = 0; entry < column.dictionarySize; entry += 1) {
    const length = lengthOf(lengths, column);
    if (at + length > bytes.length) throw new OrcError(`${column.what}'s dictionary entry ${entry} runs past its data`);
    dictionary.push(bytes.toString('utf8', at, at + length));
    at += length;
  }
  const indexes = ints(column, STREAM.DATA, false);
  return withPresent(column, () => {
    const index = indexes.next();
    if (index < 0 || index >= dictionary.length)
      throw new OrcError(`${column.what} refers to dictionary entry ${index} of ${dictionary.length}`);
    return dictionary[index] as string;
  });
}

/**
 * Timestamps as epoch milliseconds: seconds from ORC's epoch (DATA) and nanoseconds (SECONDARY,
 * with its trailing zeros counted in the low three bits). As ORC's own readers do, a time before
 * 1970 with more than a millisecond of nanoseconds is one second earlier than its seconds say.
 */
function timestamps(column: ColumnStreams): ValueReader {
  const seconds = ints(column, STREAM.DATA, true);
  const nanos = ints(column, STREAM.SECONDARY, false);
  return withPresent(column, () => {
    let second = seconds.next() + ORC_EPOCH_SECONDS;
    const encoded = nanos.next();
    const zeros = encoded % 8;
    const nano = zeros === 0 ? Math.floor(encoded / 8) : Math.floor(encoded / 8) * 10 ** (zeros + 1);
    if (second < 0 && nano > 999_999) second -= 1;
    return second * 1000 + Math.floor(nano / 1_000_000);
  });
}
