import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '../../lib/core/errors.ts';
import type { MessageField } from '../../lib/core/types.ts';
import { csvBatches } from '../../lib/inventory/csv-format.ts';
import type { OpenOptions, RowBatch } from '../../lib/inventory/data-file.ts';
import { parseManifest } from '../../lib/inventory/manifest.ts';
import { OrcError } from '../../lib/inventory/orc/errors.ts';
import { OrcFile } from '../../lib/inventory/orc/file.ts';
import { orcBatches } from '../../lib/inventory/orc-format.ts';
import { parquetBatches } from '../../lib/inventory/parquet-format.ts';
import { bufferSource } from '../../lib/inventory/ranged-source.ts';

/**
 * Readers fed real files broken at random: truncated, bits flipped, bytes overwritten anywhere or
 * where the format keeps its headers. Every case must end, within a bounded time, with rows or
 * the project's own error; anything else (a TypeError, a RangeError, a hang) is a reader's bug.
 * A fixed seed here; `npm run fuzz` runs many more cases with a seed of its own (FUZZ_RUNS, FUZZ_SEED).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = process.env.FUZZ_SEED === undefined ? 20_261_205 : Number(process.env.FUZZ_SEED);
const CASE_LIMIT_MS = 10_000;
const FIELDS: MessageField[] = ['size', 'etag', 'lastModified', 'versionId', 'storageClass'];
const fixture = (path: string) => readFile(new URL(`../fixtures/${path}`, import.meta.url));

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; flips: Array<[number, number]> }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array }
  | { kind: 'hotspot'; spot: number; shift: number; bytes: Uint8Array };

const position = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const mutations = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({
    kind: fc.constant('flip' as const),
    flips: fc.array(fc.tuple(position, fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('overwrite' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
  fc.record({
    kind: fc.constant('hotspot' as const),
    spot: fc.nat(),
    shift: fc.integer({ min: 0, max: 8 }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
  }),
);

/** `bytes` with the mutation applied; `hotspots` are where the format keeps lengths and headers. */
function mutate(bytes: Buffer, mutation: Mutation, hotspots: number[]): Buffer {
  const copy = Buffer.from(bytes);
  const at = (fraction: number) => Math.floor(fraction * copy.length);
  if (mutation.kind === 'truncate') return copy.subarray(0, at(mutation.at));
  if (mutation.kind === 'flip') {
    for (const [where, bit] of mutation.flips) copy[at(where)] = (copy[at(where)] as number) ^ (1 << bit);
    return copy;
  }
  const start = mutation.kind === 'overwrite' ? at(mutation.at) : (hotspots[mutation.spot % hotspots.length] ?? 0) + mutation.shift;
  copy.set(mutation.bytes.subarray(0, Math.max(0, copy.length - start)), Math.min(start, copy.length));
  return copy;
}

/** Every row's outcome of a read, counted; the read's own error is thrown. */
async function readEverything(batches: AsyncGenerator<RowBatch>): Promise<number> {
  let rows = 0;
  for await (const batch of batches) for (let index = 0; index < batch.length; index += 1) batch.outcome(index, ++rows);
  return rows;
}

/** Runs one case within the time limit: rows, or the error it ended with. */
async function outcome(read: () => Promise<number>): Promise<number | Error> {
  const limit = sleep(CASE_LIMIT_MS).then(() => new Error(`the read did not end within ${CASE_LIMIT_MS} ms`));
  return Promise.race([read().catch((error: unknown) => error as Error), limit]);
}

/** Fuzzes one file: every mutation ends in rows or in an error `isOwn` accepts. */
async function fuzz(original: Buffer, hotspots: number[], read: (bytes: Buffer) => Promise<number>, isOwn: (error: Error) => boolean) {
  expect(await outcome(() => read(original))).toBeGreaterThan(0);
  await fc.assert(
    fc.asyncProperty(mutations, async (mutation) => {
      const result = await outcome(() => read(mutate(original, mutation, hotspots)));
      if (result instanceof Error && !isOwn(result)) throw result;
    }),
    { seed: SEED, numRuns: RUNS },
  );
}

const options = (fields: MessageField[]): Omit<OpenOptions, 'etag' | 'stats'> => ({ startRow: 0, selection: { fields } });
const isPipelineError = (error: Error) => error instanceof PipelineError;

describe('fuzzed data files end in rows or the project error, within a bounded time', () => {
  it('gzipped CSV (the report gzip and md5sum wrote)', async () => {
    const folder = 'versioned-report/inventory/fixture-photos/all-versions/';
    const manifestText = (await fixture(`${folder}2026-11-28T01-00Z/manifest.json`)).toString('utf8');
    const manifest = parseManifest(manifestText, {
      bucket: 'fixture-inventory',
      key: `inventory/fixture-photos/all-versions/2026-11-28T01-00Z/manifest.json`,
    });
    const original = await fixture(`${folder}data/${manifest.files[1]?.key.split('/').at(-1)}`);
    // The gzip header, the deflate stream's first block, and its trailer.
    const hotspots = [0, 3, 10, original.length - 8, original.length - 4];
    const read = async (bytes: Buffer) => {
      const pieces = async function* () {
        for (let start = 0; start < bytes.length; start += 100) yield bytes.subarray(start, start + 100);
      };
      return readEverything(
        csvBatches(pieces(), 's3://fuzz/data.csv.gz', manifest.columns, options(['size', 'etag', 'lastModified', 'versionId'])),
      );
    };
    await fuzz(original, hotspots, read, isPipelineError);
  }, 120_000);

  it.each(['versioned', 'blocks'])(
    'Parquet written by pyarrow (%s.parquet)',
    async (name) => {
      const original = await fixture(`columnar/${name}.parquet`);
      // The footer's length and magic, and the footer itself, where every offset and size is.
      const hotspots = [4, original.length - 8, original.length - 200, original.length - 600];
      const read = (bytes: Buffer) => readEverything(parquetBatches(bufferSource(bytes), `s3://fuzz/${name}.parquet`, options(FIELDS)));
      await fuzz(original, hotspots, read, isPipelineError);
    },
    120_000,
  );

  it.each(['versioned', 'blocks'])(
    'ORC written by pyarrow (%s.orc)',
    async (name) => {
      const original = await fixture(`columnar/${name}.orc`);
      const orc = await OrcFile.open(bufferSource(original), name);
      // The postscript and footer, and each stripe's first chunk header and its footer.
      const hotspots = [original.length - 1, original.length - 30, original.length - 200];
      for (const stripe of orc.stripes)
        hotspots.push(stripe.offset, stripe.offset + stripe.indexLength, stripe.offset + stripe.indexLength + stripe.dataLength);
      const read = (bytes: Buffer) => readEverything(orcBatches(bufferSource(bytes), `s3://fuzz/${name}.orc`, options(FIELDS)));
      await fuzz(original, hotspots, read, isPipelineError);
    },
    120_000,
  );

  it.each([
    ['TestOrcFile.test1', ['boolean1', 'short1', 'int1', 'string1']],
    ['TestStringDictionary.testRowIndex', ['str']],
    ['orc_index_int_string', ['_col0', '_col1']],
  ])(
    'ORC written by Apache ORC (%s), every column read',
    async (name, fields) => {
      const original = await fixture(`orc/${name}.orc`);
      const orc = await OrcFile.open(bufferSource(original), name);
      const hotspots = [original.length - 1, original.length - 30];
      for (const stripe of orc.stripes)
        hotspots.push(stripe.offset, stripe.offset + stripe.indexLength, stripe.offset + stripe.indexLength + stripe.dataLength);
      const read = async (bytes: Buffer) => {
        const file = await OrcFile.open(bufferSource(bytes), name);
        let rows = 0;
        for (let index = 0; index < file.stripes.length; index += 1) {
          const readers = await file.stripe(index, fields);
          for (let left = file.stripes[index]?.rows ?? 0; left > 0; left -= 1_000) {
            for (const reader of readers.values()) reader.read(Math.min(left, 1_000));
            rows += Math.min(left, 1_000);
          }
        }
        return rows;
      };
      await fuzz(original, hotspots, read, (error) => error instanceof OrcError);
    },
    120_000,
  );
});
