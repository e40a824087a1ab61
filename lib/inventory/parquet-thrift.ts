/**
 * A walk over one Thrift compact-protocol struct (Parquet's footer and page headers) without
 * building it: how deep it nests, where it ends, and the integer fields asked for. hyparquet parses
 * these structs recursively, one call per level, so a crafted footer or page header nested
 * thousands deep would overflow the stack; this walk is iterative and is run first, bounding the
 * depth before hyparquet sees the bytes. Written here because no library walks Thrift this way.
 */
import { readVarint } from './varint.ts';

const STOP = 0;
const TRUE = 1;
const FALSE = 2;
const BYTE = 3;
const I16 = 4;
const I32 = 5;
const I64 = 6;
const DOUBLE = 7;
const BINARY = 8;
const LIST = 9;
const SET = 10;
const MAP = 11;
const STRUCT = 12;

/** The deepest nesting Parquet's own structs use is under ten; past this a struct is refused. */
export const MAX_THRIFT_DEPTH = 32;

export class ThriftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThriftError';
  }
}

export interface ThriftWalk {
  /** Where the struct ends: the byte after its STOP. */
  end: number;
  /** The integer fields asked for, by their path of field ids (`"2"`, `"5.1"`). */
  ints: Map<string, number>;
}

/** What is being read at one level: a struct's fields, or a list's (or map's) remaining elements. */
interface Frame {
  struct: boolean;
  /** Field ids of the structs above and of this one's current field, for the path of an integer. */
  path: string;
  lastField: number;
  /** Lists and maps: the element types, in turn, and how many elements are left. */
  types: number[];
  left: number;
}

/** Walks the struct at `start` of `bytes`; `wanted` names the integer fields to return. */
export function walkThriftStruct(bytes: Uint8Array, start: number, wanted: ReadonlySet<string> = new Set()): ThriftWalk {
  const reader = new ByteReader(bytes, start);
  const ints = new Map<string, number>();
  const stack: Frame[] = [{ struct: true, path: '', lastField: 0, types: [], left: 0 }];
  while (stack.length > 0) {
    const frame = stack.at(-1) as Frame;
    let type: number;
    let path: string;
    if (frame.struct) {
      const header = reader.byte();
      type = header & 0x0f;
      if (type === STOP) {
        stack.pop();
        continue;
      }
      const delta = header >> 4;
      frame.lastField = delta === 0 ? reader.zigzag() : frame.lastField + delta;
      path = frame.path === '' ? String(frame.lastField) : `${frame.path}.${frame.lastField}`;
    } else {
      if (frame.left === 0) {
        stack.pop();
        continue;
      }
      frame.left -= 1;
      type = frame.types[frame.left % frame.types.length] as number;
      path = `${frame.path}[]`;
    }
    const nested = element(reader, type, path, frame.struct, ints, wanted);
    if (nested) {
      if (stack.length >= MAX_THRIFT_DEPTH) throw new ThriftError(`a struct nests deeper than ${MAX_THRIFT_DEPTH} levels`);
      stack.push(nested);
    }
  }
  return { end: reader.at, ints };
}

/** Reads one element; a struct, list, set or map comes back as the frame to read its insides. */
function element(
  reader: ByteReader,
  type: number,
  path: string,
  inStruct: boolean,
  ints: Map<string, number>,
  wanted: ReadonlySet<string>,
): Frame | undefined {
  switch (type) {
    case TRUE:
    case FALSE:
      // A boolean element of a list takes a byte; a boolean field is held in its type.
      if (!inStruct) reader.skip(1);
      return undefined;
    case BYTE:
      reader.skip(1);
      return undefined;
    case I16:
    case I32:
    case I64: {
      const value = reader.zigzag();
      if (wanted.has(path)) ints.set(path, value);
      return undefined;
    }
    case DOUBLE:
      reader.skip(8);
      return undefined;
    case BINARY:
      reader.skip(reader.varint());
      return undefined;
    case LIST:
    case SET: {
      const header = reader.byte();
      const size = header >> 4 === 15 ? reader.varint() : header >> 4;
      return { struct: false, path, lastField: 0, types: [header & 0x0f], left: size };
    }
    case MAP: {
      const size = reader.varint();
      // Keys and values alternate, the key first: odd counts left are keys.
      const kinds = size === 0 ? 0 : reader.byte();
      return { struct: false, path, lastField: 0, types: [kinds & 0x0f, kinds >> 4], left: size * 2 };
    }
    case STRUCT:
      return { struct: true, path, lastField: 0, types: [], left: 0 };
    default:
      throw new ThriftError(`unknown Thrift type ${type}`);
  }
}

/** Bytes read in order, every read checked against the end. */
class ByteReader {
  readonly #bytes: Uint8Array;
  at: number;

  constructor(bytes: Uint8Array, start: number) {
    this.#bytes = bytes;
    this.at = start;
  }

  byte(): number {
    if (this.at >= this.#bytes.length) throw new ThriftError('a struct runs past the end of its bytes');
    return this.#bytes[this.at++] as number;
  }

  skip(count: number): void {
    if (this.at + count > this.#bytes.length) throw new ThriftError('a field runs past the end of its bytes');
    this.at += count;
  }

  varint(): number {
    return readVarint(this, (problem) => new ThriftError(`a field ${problem}`));
  }

  zigzag(): number {
    const raw = this.varint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }
}
