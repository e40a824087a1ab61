import { readVarint } from '../varint.ts';

/**
 * Just enough of the protocol buffers wire format to read ORC's file tail and stripe footers:
 * varints, length-delimited fields and packed repeated varints. Written here because ORC's
 * metadata is a handful of small messages and a protobuf library would need its schema compiled.
 */
export class ProtoReader {
  readonly #bytes: Uint8Array;
  #at: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#at = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#at >= this.#end;
  }

  /** The next byte of the message. */
  byte(): number {
    if (this.#at >= this.#end) throw new ProtoError('a varint runs past the end of its message');
    return this.#bytes[this.#at++] as number;
  }

  /** An unsigned varint as a number; metadata values (offsets, lengths, counts) stay below 2^53. */
  varint(): number {
    return readVarint(this, (problem) => new ProtoError(`a field ${problem}`));
  }

  /** The next field's number and wire type, or undefined at the end of the message. */
  field(): { number: number; type: number } | undefined {
    if (this.done) return undefined;
    const tag = this.varint();
    return { number: Math.floor(tag / 8), type: tag % 8 };
  }

  /** A length-delimited field's bytes, as a reader of its own. */
  message(): ProtoReader {
    const length = this.varint();
    if (this.#at + length > this.#end) throw new ProtoError('a field is longer than its message');
    const inner = new ProtoReader(this.#bytes, this.#at, this.#at + length);
    this.#at += length;
    return inner;
  }

  string(): string {
    const length = this.varint();
    if (this.#at + length > this.#end) throw new ProtoError('a string is longer than its message');
    const text = Buffer.from(this.#bytes.buffer, this.#bytes.byteOffset + this.#at, length).toString('utf8');
    this.#at += length;
    return text;
  }

  /** A repeated varint field, packed (wire type 2) or one value (wire type 0), added to `into`. */
  varints(type: number, into: number[]): void {
    if (type === 0) {
      into.push(this.varint());
      return;
    }
    const inner = this.message();
    while (!inner.done) into.push(inner.varint());
  }

  skip(type: number): void {
    if (type === 0) this.varint();
    else if (type === 1) this.#at += 8;
    else if (type === 2) {
      const length = this.varint();
      this.#at += length;
    } else if (type === 5) this.#at += 4;
    else throw new ProtoError(`unsupported wire type ${type}`);
    if (this.#at > this.#end) throw new ProtoError('a field is longer than its message');
  }
}

export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}
