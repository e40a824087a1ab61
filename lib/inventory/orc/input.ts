import { inflateRaw, inflateRawSync } from 'node:zlib';
import { OrcError } from './errors.ts';

/** Compression kinds of ORC's postscript; the reader decodes NONE and ZLIB, what S3 writes. */
export const COMPRESSION = ['NONE', 'ZLIB', 'SNAPPY', 'LZO', 'LZ4', 'ZSTD'] as const;
export type Compression = (typeof COMPRESSION)[number];

/**
 * The output buffer of an inflation on libuv's threads, from the chunk's compressed size: a chunk
 * inflated in one piece, not zlib's 16 KiB pieces (each a callback and a copy on this thread), and
 * no 256 KiB buffer kept alive by the few bytes of a small stream's chunk.
 */
const inflatedBufferBytes = (compressed: number) => Math.min(256 * 1024, Math.max(16 * 1024, compressed * 4));

/** Compressed chunks from this size are inflated on libuv's threads. */
const THREAD_INFLATE_BYTES = 32 * 1024;

/** A chunk whose inflation has started: where it ends in the stream, and its bytes once inflated. */
interface AheadChunk {
  end: number;
  inflated?: Buffer;
  done: Promise<void>;
}

/** The compression of a file, from its postscript: the codec, and the most one chunk may hold inflated. */
export interface CompressionSettings {
  codec: Compression;
  /** The postscript's compressionBlockSize: no chunk is longer, compressed or inflated. */
  blockSize: number;
}

/**
 * The decompressed bytes of one ORC stream, read in order. A compressed stream is a series of
 * chunks, each with a 3-byte header (length × 2, plus 1 when stored as is) and raw deflate data;
 * chunks are inflated one at a time as the decoders reach them, so that memory holds the stream's
 * compressed bytes and a few chunks, never the whole decompressed stream. `inflateAhead` inflates
 * the next chunks on libuv's threads while the decoders work on this thread; a chunk the decoders
 * reach before its inflation has finished is inflated here instead.
 */
export class StreamInput {
  readonly #compressed: Buffer;
  readonly #compression: Compression;
  readonly #blockSize: number;
  readonly #what: string;
  #next = 0;
  #chunk: Buffer = Buffer.alloc(0);
  #at = 0;
  /** The chunks after the current one whose inflation has started, in order. */
  readonly #ahead: AheadChunk[] = [];

  constructor(compressed: Buffer, { codec: compression, blockSize }: CompressionSettings, what: string) {
    this.#compressed = compressed;
    this.#compression = compression;
    this.#blockSize = blockSize;
    this.#what = what;
    if (compression === 'NONE') {
      this.#chunk = compressed;
      this.#next = compressed.length;
    }
  }

  /** The whole decompressed stream (a footer, a dictionary), refused once it passes `maxBytes`. */
  static whole(compressed: Buffer, compression: CompressionSettings, what: string, maxBytes: number): Buffer {
    if (compression.codec === 'NONE') return compressed;
    const input = new StreamInput(compressed, compression, what);
    const parts: Buffer[] = [];
    let total = 0;
    while (input.#fill()) {
      total += input.#chunk.length - input.#at;
      if (total > maxBytes) throw new OrcError(`${what} inflates to more than ${maxBytes} bytes`);
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

  /** Up to `max` of the next bytes, as a view of one chunk: empty only at the end of the stream. */
  piece(max: number): Buffer {
    if (this.#at >= this.#chunk.length && !this.#fill()) return this.#chunk.subarray(this.#at);
    const end = Math.min(this.#chunk.length, this.#at + max);
    const piece = this.#chunk.subarray(this.#at, end);
    this.#at = end;
    return piece;
  }

  /**
   * Starts inflating the chunks after those already started, up to `chunks` of them ahead, and
   * waits for the ones started earlier: called before each batch is decoded, it has this batch's
   * chunks ready and the next batch's on their way.
   */
  async inflateAhead(chunks: number): Promise<void> {
    const earlier = this.#ahead.map((chunk) => chunk.done);
    let from = this.#ahead.at(-1)?.end ?? this.#next;
    while (this.#ahead.length < chunks && from < this.#compressed.length) {
      const { raw, end, stored } = this.#chunkAt(from);
      if (!stored && this.#compression !== 'ZLIB') break;
      const chunk: AheadChunk = { end, done: Promise.resolve() };
      if (stored) chunk.inflated = raw;
      // A small chunk costs less inflated here than handed to a thread and back.
      else if (raw.length < THREAD_INFLATE_BYTES) chunk.inflated = inflate(raw, this.#blockSize, this.#what);
      // A chunk that fails to inflate here is inflated again on this thread, which names the error.
      else
        chunk.done = new Promise((resolve) =>
          inflateRaw(raw, { chunkSize: inflatedBufferBytes(raw.length), maxOutputLength: this.#blockSize }, (error, bytes) => {
            if (!error) chunk.inflated = bytes;
            resolve();
          }),
        );
      this.#ahead.push(chunk);
      from = end;
    }
    await Promise.all(earlier);
  }

  /** The chunk whose header is at `start`. */
  #chunkAt(start: number): { raw: Buffer; end: number; stored: boolean } {
    if (start + 3 > this.#compressed.length) throw new OrcError(`${this.#what} has a truncated chunk header`);
    const header = this.#compressed.readUIntLE(start, 3);
    const length = Math.floor(header / 2);
    if (length > this.#blockSize)
      throw new OrcError(`${this.#what} has a chunk of ${length} bytes, over the file's block size of ${this.#blockSize}`);
    const end = start + 3 + length;
    if (end > this.#compressed.length) throw new OrcError(`${this.#what} has a chunk longer than the stream`);
    return { raw: this.#compressed.subarray(start + 3, end), end, stored: header % 2 === 1 };
  }

  /** Inflates the next chunk that is not empty, or takes it inflated ahead; false at the end of the stream. */
  #fill(): boolean {
    // A loop, not a call per empty chunk: a stream of many empty chunks must not exhaust the stack.
    while (this.#next < this.#compressed.length) {
      this.#at = 0;
      const ahead = this.#ahead.shift();
      if (ahead?.inflated) {
        this.#next = ahead.end;
        this.#chunk = ahead.inflated;
      } else {
        const { raw, end, stored } = this.#chunkAt(this.#next);
        this.#next = end;
        this.#chunk = stored ? raw : this.#inflate(raw);
      }
      if (this.#chunk.length > 0) return true;
    }
    return false;
  }

  #inflate(raw: Buffer): Buffer {
    if (this.#compression === 'ZLIB') return inflate(raw, this.#blockSize, this.#what);
    throw new OrcError(
      `${this.#what} is compressed with ${this.#compression}, which this reader does not decode (ZLIB and NONE only)`,
      true,
    );
  }
}

/** One chunk inflated, never past the file's block size whatever its bytes claim. */
function inflate(raw: Buffer, blockSize: number, what: string): Buffer {
  try {
    return inflateRawSync(raw, { maxOutputLength: blockSize });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ERR_BUFFER_TOO_LARGE')
      throw new OrcError(`${what} has a chunk that inflates past the file's block size of ${blockSize} bytes`);
    throw new OrcError(`${what} does not inflate: ${message}`);
  }
}
