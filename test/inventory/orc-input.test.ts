import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { OrcError } from '../../lib/inventory/orc/errors.ts';
import { StreamInput } from '../../lib/inventory/orc/input.ts';
import { StreamText } from '../../lib/inventory/orc/stream-text.ts';

/** An ORC ZLIB stream of `parts`: each deflated, or stored as is when marked so, with its 3-byte header. */
function zlibStream(parts: Array<{ bytes: Buffer; stored?: boolean }>): Buffer {
  return Buffer.concat(
    parts.flatMap(({ bytes, stored }) => {
      const body = stored ? bytes : deflateRawSync(bytes);
      const header = Buffer.alloc(3);
      header.writeUIntLE(body.length * 2 + (stored ? 1 : 0), 0, 3);
      return [header, body];
    }),
  );
}

/** Hex text that deflates to about half its size: chunks of it are inflated on libuv's threads. */
const hex = (bytes: number, seed: string) => {
  let text = '';
  for (let index = 0; text.length < bytes; index += 1) text += createHash('sha256').update(`${seed}${index}`).digest('hex');
  return Buffer.from(text.slice(0, bytes), 'latin1');
};

/** ZLIB with a block size that holds the largest chunk these tests write. */
const ZLIB = { codec: 'ZLIB', blockSize: 4 * 1024 * 1024 } as const;

const PARTS = [
  { bytes: hex(256 * 1024, 'a') },
  { bytes: Buffer.from('a small chunk') },
  { bytes: Buffer.from('stored as is'), stored: true },
  { bytes: hex(200 * 1024, 'b') },
  { bytes: hex(256 * 1024, 'c') },
];
const WHOLE = Buffer.concat(PARTS.map((part) => part.bytes));

/** The stream read `step` bytes at a time, inflating `ahead` chunks ahead before each read (0: none). */
async function readInSteps(input: StreamInput, step: number, ahead: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let left = WHOLE.length; left > 0; left -= step) {
    if (ahead > 0) await input.inflateAhead(ahead);
    parts.push(Buffer.from(input.bytes(Math.min(step, left))));
  }
  return Buffer.concat(parts);
}

describe('an ORC stream inflated ahead', () => {
  it('reads the same bytes as one inflated where it is reached, however far ahead and in whatever steps', async () => {
    const compressed = zlibStream(PARTS);
    for (const [step, ahead] of [
      [100_000, 1],
      [100_000, 4],
      [7_777, 2],
      [WHOLE.length, 4],
    ] as const) {
      const read = await readInSteps(new StreamInput(compressed, ZLIB, 'test stream'), step, ahead);
      expect(read.equals(WHOLE)).toBe(true);
    }
    expect((await readInSteps(new StreamInput(compressed, ZLIB, 'test stream'), 100_000, 0)).equals(WHOLE)).toBe(true);
  });

  it('names the stream when a chunk inflated ahead is corrupt', async () => {
    const compressed = zlibStream(PARTS);
    // The first chunk's first deflate block marked of type 3, which deflate does not have.
    compressed[3] = 0xff;
    const input = new StreamInput(compressed, ZLIB, 'data file s3://b/k column "key" (stripe 0)');
    await input.inflateAhead(4);
    expect(() => input.bytes(10)).toThrow(OrcError);
    expect(() => new StreamInput(compressed, ZLIB, 'data file s3://b/k column "key" (stripe 0)').bytes(10)).toThrow(
      /data file s3:\/\/b\/k column "key" \(stripe 0\) does not inflate/,
    );
  });

  it('leaves a codec it does not decode to fail by name when it is reached', async () => {
    const input = new StreamInput(zlibStream(PARTS), { codec: 'SNAPPY', blockSize: 256 * 1024 }, 'a Snappy stream');
    await input.inflateAhead(4);
    expect(() => input.byte()).toThrow(/a Snappy stream is compressed with SNAPPY/);
  });
});

describe('the strings of a DATA stream', () => {
  it('reads each value whole: ASCII and UTF-8, inside a chunk, across chunks and across 64 KiB pieces', () => {
    const values = Array.from({ length: 30_000 }, (_, index) =>
      index % 1_000 === 0 ? '' : `${index % 5 === 0 ? 'clé/ü/' : 'key/'}${index}/${'x'.repeat(index % 97)}`,
    );
    const bytes = Buffer.from(values.join(''));
    // Chunks of uneven sizes, so that values straddle their ends; one stored as is.
    const cuts = [0, 70_001, 70_003, 150_000, 400_123, bytes.length];
    const parts = cuts.slice(1).map((end, index) => ({ bytes: bytes.subarray(cuts[index], end), stored: index === 1 }));
    const text = new StreamText(new StreamInput(zlibStream(parts), ZLIB, 'test stream'));
    expect(values.map((value) => text.next(Buffer.byteLength(value)))).toEqual(values);
    expect(() => text.next(1)).toThrow(/test stream ends before its values do/);
  });
});
