import { createDeflateRaw, createGzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataFileError } from '../../lib/core/errors.ts';
import { ColumnarRows } from '../../lib/inventory/columnar-rows.ts';
import { csvBatches } from '../../lib/inventory/csv-format.ts';
import type { RowBatch } from '../../lib/inventory/data-file.ts';
import { type ColumnStreams, columnReader, ENCODING, KIND, STREAM } from '../../lib/inventory/orc/columns.ts';
import { OrcError } from '../../lib/inventory/orc/errors.ts';
import { OrcFile } from '../../lib/inventory/orc/file.ts';
import { StreamInput } from '../../lib/inventory/orc/input.ts';
import { IntRleV1, IntRleV2 } from '../../lib/inventory/orc/rle.ts';
import { parquetBatches } from '../../lib/inventory/parquet-format.ts';
import { bufferSource } from '../../lib/inventory/ranged-source.ts';
import { parquetFile, varint } from '../support/parquet-file.ts';

/**
 * Files crafted to exhaust a reader, each with sizes and checksums a manifest could vouch for:
 * every one must end in the project's named error, within the test's time, holding little memory.
 */
const BLOCK = 256 * 1024;
const ZLIB = { codec: 'ZLIB', blockSize: BLOCK } as const;
const NONE = { codec: 'NONE', blockSize: BLOCK } as const;
/** Memory a read may add while it is refused: far below the 1,769 MB of a worker. */
const MEMORY_BOUND = 64 * 1024 * 1024;

/** `bytes` zero bytes deflated (raw, or gzip), made a piece at a time so that they are never held inflated. */
async function compressedZeros(bytes: number, gzip = false): Promise<Buffer> {
  const stream = gzip ? createGzip({ level: 9 }) : createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const piece = Buffer.alloc(1024 * 1024, gzip ? 0x61 : 0);
  for (let written = 0; written < bytes; written += piece.length) {
    if (!stream.write(piece)) await new Promise((resolve) => stream.once('drain', resolve));
  }
  await new Promise((resolve) => stream.end(resolve));
  return Buffer.concat(out);
}

/** An ORC chunk: its 3-byte header (length × 2, plus 1 when stored as is), then its bytes. */
function chunk(bytes: Buffer, stored = false): Buffer {
  const header = Buffer.alloc(3);
  header.writeUIntLE(bytes.length * 2 + (stored ? 1 : 0), 0, 3);
  return Buffer.concat([header, bytes]);
}

/** Runs `read`, which must fail, and returns its error with the memory it added at the most. */
async function refusal(read: () => Promise<unknown>): Promise<{ error: Error; grew: number }> {
  const before = process.memoryUsage();
  let peak = 0;
  const sample = setInterval(() => {
    const now = process.memoryUsage();
    peak = Math.max(peak, now.arrayBuffers - before.arrayBuffers + now.heapUsed - before.heapUsed);
  }, 5);
  try {
    await read();
  } catch (error) {
    return { error: error as Error, grew: peak };
  } finally {
    clearInterval(sample);
  }
  throw new Error('the read did not fail');
}

async function readAll(batches: AsyncGenerator<RowBatch>): Promise<number> {
  let rows = 0;
  for await (const batch of batches) for (let index = 0; index < batch.length; index += 1) batch.outcome(index, ++rows);
  return rows;
}

describe('ORC that would inflate without bound', () => {
  it('refuses a footer whose chunk inflates to gigabytes, at the block size', async () => {
    // Five chunks each under the block size compressed, each 200 MiB of zeros inflated: a gigabyte.
    const piece = await compressedZeros(200 * 1024 * 1024);
    expect(piece.length).toBeLessThan(BLOCK);
    const footer = Buffer.concat(Array.from({ length: 5 }, () => chunk(piece)));
    const postscript = Buffer.concat([
      Buffer.from([0x08, ...varint(footer.length), 0x10, 0x01, 0x18, ...varint(BLOCK)]),
      Buffer.from([0x82, 0xf4, 0x03, 0x03]),
      Buffer.from('ORC'),
    ]);
    const file = Buffer.concat([Buffer.from('ORC'), footer, postscript, Buffer.from([postscript.length])]);
    const { error, grew } = await refusal(() => OrcFile.open(bufferSource(file), 'data file s3://b/bomb.orc'));
    expect(error).toBeInstanceOf(OrcError);
    expect(error.message).toBe(`data file s3://b/bomb.orc's footer has a chunk that inflates past the file's block size of ${BLOCK} bytes`);
    expect(grew).toBeLessThan(MEMORY_BOUND);
  });

  it('refuses a data chunk that inflates to gigabytes, whether inflated ahead on a thread or here', async () => {
    const piece = await compressedZeros(200 * 1024 * 1024);
    const stream = Buffer.concat(Array.from({ length: 5 }, () => chunk(piece)));
    for (const ahead of [0, 4]) {
      const input = new StreamInput(stream, ZLIB, 'data file s3://b/k column "key" (stripe 0)');
      const { error, grew } = await refusal(async () => {
        if (ahead > 0) await input.inflateAhead(ahead);
        input.bytes(10);
      });
      expect(error.message).toBe(
        `data file s3://b/k column "key" (stripe 0) has a chunk that inflates past the file's block size of ${BLOCK} bytes`,
      );
      expect(grew).toBeLessThan(MEMORY_BOUND);
    }
  });

  it('refuses a chunk that claims more bytes than the block size holds', () => {
    const header = Buffer.alloc(3);
    header.writeUIntLE((BLOCK + 1) * 2, 0, 3);
    expect(() => new StreamInput(Buffer.concat([header, Buffer.alloc(BLOCK + 1)]), ZLIB, 'a stream').byte()).toThrow(
      `a stream has a chunk of ${BLOCK + 1} bytes, over the file's block size of ${BLOCK}`,
    );
  });

  it('reads past 120,000 empty chunks without exhausting the stack', () => {
    const empty = [chunk(Buffer.alloc(0), true), chunk(Buffer.from([0x03, 0x00]))];
    const chunks = Array.from({ length: 120_000 }, (_, index) => empty[index % 2] as Buffer);
    const input = new StreamInput(Buffer.concat([...chunks, chunk(Buffer.from('key'), true)]), ZLIB, 'a stream');
    expect(input.bytes(3).toString()).toBe('key');
  });
});

describe('ORC values outside what a reader can represent', () => {
  /** A string column of its uncompressed streams. */
  const column = (encoding: number, streams: Array<[number, number[]]>, dictionarySize = 0): ColumnStreams => ({
    what: 'data file s3://b/k column "key" (stripe 0)',
    streams: new Map(streams.map(([kind, bytes]) => [kind, new StreamInput(Buffer.from(bytes), NONE, 'stream')])),
    raw: new Map(streams.map(([kind, bytes]) => [kind, Buffer.from(bytes)])),
    compression: NONE,
    encoding,
    dictionarySize,
    rows: 3,
  });

  it('refuses a negative dictionary index, naming the column and stripe', () => {
    // Dictionary of one entry "a"; indexes 0, -1, -2 (an RLE v1 run with delta -1 from 0).
    const strings = column(
      ENCODING.DICTIONARY,
      [
        [STREAM.LENGTH, [0x7f, 0x00, 0x01]],
        [STREAM.DICTIONARY_DATA, [0x61]],
        [STREAM.DATA, [0x00, 0xff, 0x00]],
      ],
      1,
    );
    const reader = columnReader(KIND.STRING, strings);
    expect(() => reader.read(3)).toThrow('data file s3://b/k column "key" (stripe 0) refers to dictionary entry -1 of 1');
  });

  it('refuses an RLE run whose values leave the safe integers, naming the stream', () => {
    const input = (bytes: number[]) => new StreamInput(Buffer.from(bytes), NONE, 'stream');
    // v1: a run of 3 from 2^53 - 1, by +1.
    const v1 = new IntRleV1(input([0x00, 0x01, ...varint(2 ** 53 - 1)]), false, 'data file s3://b/k column "size" (stripe 0)');
    expect(() => v1.next()).toThrow(OrcError);
    expect(() => new IntRleV1(input([0x00, 0x01, ...varint(2 ** 53 - 1)]), false, 'size').next()).toThrow(
      'size holds an integer over 2^53, which this reader does not represent exactly',
    );
    // v2 delta: 2^53 - 2, then +1 steps (fixed delta, width 0), 4 values.
    const v2 = new IntRleV2(input([0xc0, 0x03, ...varint(2 ** 53 - 2), 0x02]), false, 'size');
    expect(() => v2.next()).toThrow('size holds an integer over 2^53');
  });

  it('refuses a timestamp outside the range of dates, naming the file, row and column', () => {
    for (const value of [9e15, new Date(Number.NaN), -9e15]) {
      const rows = new ColumnarRows(
        1,
        new Map<string, unknown[]>([
          ['bucket', ['b']],
          ['key', ['k']],
          ['last_modified_date', [value]],
        ]) as ConstructorParameters<typeof ColumnarRows>[1],
        { fields: ['lastModified'] },
        's3://i/data/0.orc',
      );
      expect(() => rows.outcome(0, 7)).toThrow(DataFileError);
      expect(() => rows.outcome(0, 7)).toThrow(
        /^data file s3:\/\/i\/data\/0\.orc row 7 column last_modified_date holds a time outside the range of dates/,
      );
    }
  });
});

describe('Parquet whose headers claim more than they hold', () => {
  const rows = [
    { bucket: 'photos', key: 'a.jpg' },
    { bucket: 'photos', key: 'b.jpg' },
  ];
  const read = (file: Buffer) =>
    readAll(parquetBatches(bufferSource(file), 's3://i/data/0.parquet', { startRow: 0, selection: { fields: [] } }));

  it('reads the crafted file as written (the forgeries below are the only change)', async () => {
    expect(await read(parquetFile(rows))).toBe(2);
  });

  it('refuses a page claiming 2 GiB inflated before anything is allocated', async () => {
    const { error, grew } = await refusal(() => read(parquetFile(rows, { claimedPageBytes: 2 ** 31 })));
    expect(error).toBeInstanceOf(DataFileError);
    expect(error.message).toBe(
      'data file s3://i/data/0.parquet row group 0 column bucket: a page claims 2147483648 bytes inflated, outside 0 to 67108864',
    );
    expect(grew).toBeLessThan(MEMORY_BOUND);
  });

  it('refuses a page claiming more inflated bytes than its codec can make of its compressed ones', async () => {
    const { error } = await refusal(() => read(parquetFile(rows, { claimedPageBytes: 1_000_000 })));
    expect(error.message).toMatch(
      /^data file s3:\/\/i\/data\/0\.parquet row group 0 column bucket: a page of \d+ bytes claims 1000000 bytes inflated, more than UNCOMPRESSED can make of them$/,
    );
  });

  it('refuses a footer nested 200,000 deep without a stack overflow', async () => {
    const { error } = await refusal(() => read(parquetFile(rows, { footerNesting: 200_000 })));
    expect(error).toBeInstanceOf(DataFileError);
    expect(error.message).toBe('data file s3://i/data/0.parquet is not a readable Parquet file: a struct nests deeper than 32 levels');
  });
});

describe('CSV lines without end', () => {
  it('refuses a gzip of one 64 MiB line at its first 64 KiB, by name', async () => {
    const file = await compressedZeros(64 * 1024 * 1024, true);
    const columns = { bucket: 0, key: 1, details: {}, count: 2 };
    const pieces = async function* () {
      for (let start = 0; start < file.length; start += 16 * 1024) yield file.subarray(start, start + 16 * 1024);
    };
    const { error, grew } = await refusal(() =>
      readAll(csvBatches(pieces(), 's3://i/data/0.csv.gz', columns, { startRow: 0, selection: { fields: [] } })),
    );
    expect(error).toBeInstanceOf(DataFileError);
    expect(error.message).toBe(
      'data file s3://i/data/0.csv.gz could not be read: CsvSyntaxError: row 1: is longer than 65536 characters: not a row of an inventory report',
    );
    expect(grew).toBeLessThan(MEMORY_BOUND);
  });
});
