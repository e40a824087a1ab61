import { isAscii } from 'node:buffer';
import type { StreamInput } from './input.ts';

/**
 * Bytes decoded at a time. A batch's keys in one string (over 500 KiB for 8,192 keys) went to V8's
 * large-object space, in the old generation, and set off a full collection every few batches;
 * pieces of 64 KiB stay in the young generation.
 */
const PIECE_BYTES = 64 * 1024;

/**
 * The strings of a direct string column's DATA stream, one value at a time, decoded a piece at a
 * time: up to 64 KiB of one inflated chunk, decoded once as Latin-1 and cut into values when it is
 * all ASCII (as most keys are), else value by value as UTF-8. Only a value that runs across two
 * pieces is copied; the bytes of a batch are never gathered into one buffer.
 */
export class StreamText {
  readonly #input: StreamInput;
  #piece: Buffer = Buffer.alloc(0);
  #text: string | undefined;
  #at = 0;

  constructor(input: StreamInput) {
    this.#input = input;
  }

  next(size: number): string {
    if (this.#at === this.#piece.length) this.#nextPiece();
    const start = this.#at;
    const end = start + size;
    if (end <= this.#piece.length) {
      this.#at = end;
      return this.#text === undefined ? this.#piece.toString('utf8', start, end) : this.#text.substring(start, end);
    }
    const head = this.#piece.subarray(start);
    this.#at = this.#piece.length;
    return Buffer.concat([head, this.#input.bytes(size - head.length)]).toString('utf8');
  }

  #nextPiece(): void {
    this.#piece = this.#input.piece(PIECE_BYTES);
    this.#at = 0;
    this.#text = isAscii(this.#piece) ? this.#piece.toString('latin1') : undefined;
  }
}
