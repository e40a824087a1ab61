import { inflateRawSync } from 'node:zlib';
import { OrcError } from './errors.ts';

/** Compression kinds of ORC's postscript; the reader decodes NONE and ZLIB, what S3 writes. */
export const COMPRESSION = ['NONE', 'ZLIB', 'SNAPPY', 'LZO', 'LZ4', 'ZSTD'] as const;
export type Compression = (typeof COMPRESSION)[number];

/**
 * The decompressed bytes of one ORC stream, read in order. A compressed stream is a series of
 * chunks, each with a 3-byte header (length × 2, plus 1 when stored as is) and raw deflate data;
 * chunks are inflated one at a time as the decoders reach them, so that memory holds the stream's
 * compressed bytes and one chunk, never the whole decompressed stream.
 */
export class StreamInput {
  readonly #compressed: Buffer;
  readonly #compression: Compression;
  readonly #what: string;
  #next = 0;
  #chunk: Buffer = Buffer.alloc(0);
  #at = 0;

  constructor(compressed: Buffer, compression: Compression, what: string) {
    this.#compressed = compressed;
    this.#compression = compression;
    this.#what = what;
    if (compression === 'NONE') {
      this.#chunk = compressed;
      this.#next = compressed.length;
    }
  }

  /** The whole decompressed stream (metadata, small dictionaries). */
  static whole(compressed: Buffer, compression: Compression, what: string): Buffer {
    if (compression === 'NONE') return compressed;
    const input = new StreamInput(compressed, compression, what);
    const parts: Buffer[] = [];
    while (input.#fill()) {
      parts.push(input.#chunk.subarray(input.#at));
      input.#at = input.#chunk.length;
    }
    return Buffer.concat(parts);
  }

  byte(): number {
    if (this.#at >= this.#chunk.length && !this.#fill()) throw new OrcError(`${this.#what} ends before its values do`);
    return this.#chunk[this.#at++] as number;
  }

  /** `length` bytes, copied only when they straddle two chunks. */
  bytes(length: number): Buffer {
    if (this.#at + length <= this.#chunk.length) {
      const slice = this.#chunk.subarray(this.#at, this.#at + length);
      this.#at += length;
      return slice;
    }
    const parts: Buffer[] = [];
    let left = length;
    while (left > 0) {
      if (this.#at >= this.#chunk.length && !this.#fill()) throw new OrcError(`${this.#what} ends before its values do`);
      const take = Math.min(left, this.#chunk.length - this.#at);
      parts.push(this.#chunk.subarray(this.#at, this.#at + take));
      this.#at += take;
      left -= take;
    }
    return Buffer.concat(parts);
  }

  /** Inflates the next chunk; false at the end of the stream. */
  #fill(): boolean {
    if (this.#next >= this.#compressed.length) return false;
    if (this.#next + 3 > this.#compressed.length) throw new OrcError(`${this.#what} has a truncated chunk header`);
    const header = this.#compressed.readUIntLE(this.#next, 3);
    const start = this.#next + 3;
    const end = start + Math.floor(header / 2);
    if (end > this.#compressed.length) throw new OrcError(`${this.#what} has a chunk longer than the stream`);
    const raw = this.#compressed.subarray(start, end);
    this.#next = end;
    this.#at = 0;
    if (header % 2 === 1) this.#chunk = raw;
    else if (this.#compression === 'ZLIB') this.#chunk = inflate(raw, this.#what);
    else
      throw new OrcError(
        `${this.#what} is compressed with ${this.#compression}, which this reader does not decode (ZLIB and NONE only)`,
        true,
      );
    return this.#chunk.length > 0 || this.#fill();
  }
}

function inflate(raw: Buffer, what: string): Buffer {
  try {
    return inflateRawSync(raw);
  } catch (error) {
    throw new OrcError(`${what} does not inflate: ${(error as Error).message}`);
  }
}
