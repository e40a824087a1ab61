import { readVarint } from '../varint.ts';
import { OrcError } from './errors.ts';
import type { StreamInput } from './input.ts';

/** A decoder of one run-length encoded stream of integers, value by value. */
export interface IntDecoder {
  next(): number;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** ORC's 5-bit width codes of RLE v2: 1–24 as they are, then 26, 28, 30, 32, 40, 48, 56, 64. */
const WIDTHS = [...Array.from({ length: 24 }, (_, index) => index + 1), 26, 28, 30, 32, 40, 48, 56, 64];

const width = (code: number) => WIDTHS[code] as number;

/** The smallest width of the table that holds `bits` bits (patch lists are packed at such a width). */
function closestFixedBits(bits: number): number {
  return bits === 0 ? 1 : (WIDTHS.find((candidate) => candidate >= bits) ?? 64);
}

const zigzag = (value: number) => (value % 2 === 0 ? value / 2 : -(value + 1) / 2);

function tooLarge(what: string): OrcError {
  return new OrcError(`${what} holds an integer over 2^53, which this reader does not represent exactly`, true);
}

/** A base-128 varint, unsigned. */
function varint(input: StreamInput, what: string): number {
  return readVarint(input, (problem) => new OrcError(`${what} ${problem}`, problem.includes('2^53')));
}

/** `count` values of `bits` bits each, packed big-endian from the next byte; ends on a byte boundary. */
function unpack(input: StreamInput, count: number, bits: number, into: number[], what: string): void {
  let current = 0;
  let left = 0;
  for (let index = 0; index < count; index += 1) {
    let value = 0;
    let need = bits;
    while (need > 0) {
      if (left === 0) {
        current = input.byte();
        left = 8;
      }
      const take = Math.min(need, left);
      left -= take;
      need -= take;
      value = value * 2 ** take + ((current >>> left) & ((1 << take) - 1));
    }
    if (value > MAX_SAFE) throw tooLarge(what);
    into.push(value);
  }
}

/** An unsigned big-endian integer of `bytes` bytes. */
function bigEndian(input: StreamInput, bytes: number, what: string): number {
  let value = 0;
  for (let index = 0; index < bytes; index += 1) value = value * 256 + input.byte();
  if (value > MAX_SAFE) throw tooLarge(what);
  return value;
}

/** A decoder of integers that come in runs: each run decoded whole, then handed out value by value. */
abstract class RunDecoder implements IntDecoder {
  protected readonly input: StreamInput;
  protected readonly signed: boolean;
  protected readonly what: string;
  #values: number[] = [];
  #at = 0;

  constructor(input: StreamInput, signed: boolean, what: string) {
    this.input = input;
    this.signed = signed;
    this.what = what;
  }

  next(): number {
    if (this.#at >= this.#values.length) {
      this.#values = this.readRun();
      this.#at = 0;
    }
    return this.#values[this.#at++] as number;
  }

  protected abstract readRun(): number[];
}

/**
 * Integer run-length encoding version 2 (ORC 0.12 on): short repeats, direct bit-packing, patched
 * base and delta runs of up to 512 values.
 */
export class IntRleV2 extends RunDecoder {
  protected readRun(): number[] {
    const header = this.input.byte();
    const encoding = header >>> 6;
    if (encoding === 0) return this.#shortRepeat(header);
    if (encoding === 1) return this.#direct(header);
    if (encoding === 2) return this.#patchedBase(header);
    return this.#delta(header);
  }

  #shortRepeat(header: number): number[] {
    const value = bigEndian(this.input, ((header >>> 3) & 7) + 1, this.what);
    return new Array<number>((header & 7) + 3).fill(this.signed ? zigzag(value) : value);
  }

  #direct(header: number): number[] {
    const length = (((header & 1) << 8) | this.input.byte()) + 1;
    const values: number[] = [];
    unpack(this.input, length, width((header >>> 1) & 31), values, this.what);
    return this.signed ? values.map(zigzag) : values;
  }

  #patchedBase(header: number): number[] {
    const { input, what } = this;
    const valueBits = width((header >>> 1) & 31);
    const length = (((header & 1) << 8) | input.byte()) + 1;
    const third = input.byte();
    const fourth = input.byte();
    const baseBytes = ((third >>> 5) & 7) + 1;
    const patchBits = width(third & 31);
    const gapBits = ((fourth >>> 5) & 7) + 1;
    const patchCount = fourth & 31;
    // The base is sign-magnitude: its top bit is the sign.
    const rawBase = bigEndian(input, baseBytes, what);
    const signBit = 2 ** (baseBytes * 8 - 1);
    const base = rawBase >= signBit ? -(rawBase - signBit) : rawBase;
    const data: number[] = [];
    unpack(input, length, valueBits, data, what);
    const patches: number[] = [];
    unpack(input, patchCount, closestFixedBits(gapBits + patchBits), patches, what);
    let index = 0;
    for (const patch of patches) {
      index += Math.floor(patch / 2 ** patchBits);
      const value = patch % 2 ** patchBits;
      // A gap of 255 with a patch of 0 only moves on: gaps longer than 255 are split so.
      if (value === 0) continue;
      if (index >= length) throw new OrcError(`${what} patches a value past the end of its run`);
      data[index] = (data[index] as number) + value * 2 ** valueBits;
    }
    return data.map((value) => {
      const patched = base + value;
      if (!Number.isSafeInteger(patched)) throw tooLarge(what);
      return patched;
    });
  }

  #delta(header: number): number[] {
    const { input, what } = this;
    const code = (header >>> 1) & 31;
    const bits = code === 0 ? 0 : width(code);
    const length = (((header & 1) << 8) | input.byte()) + 1;
    const first = varint(input, what);
    let previous = this.signed ? zigzag(first) : first;
    const values = [previous];
    const deltaBase = zigzag(varint(input, what));
    if (length === 1) return values;
    previous += deltaBase;
    values.push(previous);
    const deltas: number[] = [];
    if (bits === 0) for (let index = 2; index < length; index += 1) deltas.push(Math.abs(deltaBase));
    else unpack(input, length - 2, bits, deltas, what);
    for (const delta of deltas) {
      previous += deltaBase < 0 ? -delta : delta;
      values.push(previous);
    }
    // Each value is safe: so the run stays so only if its first step and its last value are.
    if (!Number.isSafeInteger(values[1] as number) || !Number.isSafeInteger(previous)) throw tooLarge(what);
    return values;
  }
}

/** Integer run-length encoding version 1 (ORC 0.11): runs of up to 130 with a delta, or literals. */
export class IntRleV1 extends RunDecoder {
  protected readRun(): number[] {
    const control = (this.input.byte() << 24) >> 24;
    const value = () => {
      const raw = varint(this.input, this.what);
      return this.signed ? zigzag(raw) : raw;
    };
    if (control < 0) return Array.from({ length: -control }, value);
    const delta = (this.input.byte() << 24) >> 24;
    const base = value();
    // A run moves by at most 127 a step: it stays safe when its last value does.
    if (!Number.isSafeInteger(base + (control + 2) * delta)) throw tooLarge(this.what);
    return Array.from({ length: control + 3 }, (_, index) => base + index * delta);
  }
}

/** Byte run-length encoding: runs of 3–130 equal bytes, or 1–128 literal bytes. */
export class ByteRle {
  readonly #input: StreamInput;
  #repeat = 0;
  #literals = 0;
  #value = 0;

  constructor(input: StreamInput) {
    this.#input = input;
  }

  next(): number {
    if (this.#repeat > 0) {
      this.#repeat -= 1;
      return this.#value;
    }
    if (this.#literals > 0) {
      this.#literals -= 1;
      return this.#input.byte();
    }
    const control = (this.#input.byte() << 24) >> 24;
    if (control >= 0) {
      this.#repeat = control + 2;
      this.#value = this.#input.byte();
      return this.#value;
    }
    this.#literals = -control - 1;
    return this.#input.byte();
  }
}

/** Booleans: byte RLE of bytes that each hold eight, the first in the top bit. */
export class BooleanRle {
  readonly #bytes: ByteRle;
  #byte = 0;
  #left = 0;

  constructor(input: StreamInput) {
    this.#bytes = new ByteRle(input);
  }

  next(): boolean {
    if (this.#left === 0) {
      this.#byte = this.#bytes.next();
      this.#left = 8;
    }
    this.#left -= 1;
    return ((this.#byte >>> this.#left) & 1) === 1;
  }
}
