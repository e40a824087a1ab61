import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { OrcError } from '../../lib/inventory/orc/errors.ts';
import { OrcFile } from '../../lib/inventory/orc/file.ts';
import { bufferSource } from '../../lib/inventory/ranged-source.ts';

const FIXTURES = new URL('../fixtures/orc/', import.meta.url);

async function open(name: string): Promise<OrcFile> {
  return OrcFile.open(bufferSource(await readFile(new URL(`${name}.orc`, FIXTURES))), name);
}

/** Every row of the columns `fields`, stripe by stripe, read in batches of `batch` rows. */
async function readAll(file: OrcFile, fields: string[], batch = 1_000): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for (let index = 0; index < file.stripes.length; index += 1) {
    const readers = await file.stripe(index, fields);
    for (let left = file.stripes[index]?.rows ?? 0; left > 0; left -= batch) {
      const count = Math.min(left, batch);
      const columns = fields.map((field) => readers.get(field)?.read(count) ?? []);
      for (let row = 0; row < count; row += 1)
        rows.push(Object.fromEntries(fields.map((field, column) => [field, columns[column]?.[row]])));
    }
  }
  return rows;
}

async function expected(name: string, fields: string[]): Promise<Array<Record<string, unknown>>> {
  const text = gunzipSync(await readFile(new URL(`expected/${name}.jsn.gz`, FIXTURES))).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .map((row) => Object.fromEntries(fields.map((field) => [field, row[field]])));
}

describe('the ORC reader, against files written by Apache ORC (Java and C++)', () => {
  it.each([
    ['orc_index_int_string', ['_col0', '_col1'], 6_000],
    ['TestStringDictionary.testRowIndex', ['str'], 32_768],
    ['TestOrcFile.testMemoryManagementV12', ['int1', 'string1'], 2_500],
    ['TestOrcFile.testStringAndBinaryStatistics', ['string1'], 4],
    ['TestOrcFile.test1', ['boolean1', 'short1', 'int1', 'string1'], 2],
    ['TestOrcFile.emptyFile', [], 0],
  ])('reads %s as ORC wrote it', async (name, fields, rows) => {
    const file = await open(name);
    expect(file.rows).toBe(rows);
    const read = await readAll(file, fields, 777);
    expect(read).toHaveLength(rows);
    expect(read).toEqual(await expected(name, fields));
  });

  it('reads several stripes of RLE v2 in batches of any size', async () => {
    const file = await open('TestOrcFile.testMemoryManagementV12');
    expect(file.stripes.length).toBeGreaterThan(1);
    expect(await readAll(file, ['int1', 'string1'], 1)).toEqual(await readAll(file, ['int1', 'string1'], 10_000));
  });

  it('refuses a 64-bit integer it cannot represent exactly, naming the column', async () => {
    const file = await open('TestOrcFile.test1');
    await expect(readAll(file, ['long1'])).rejects.toThrow('column "long1" (stripe 0) holds an integer over 2^53');
  });

  it('refuses what it does not decode: a type, a time zone other than UTC', async () => {
    const file = await open('TestOrcFile.test1');
    await expect(readAll(file, ['float1'])).rejects.toThrow('is of ORC type kind 5, which this reader does not decode');
    const zoned = await open('corrupt/negative_dict_entry_lengths');
    await expect(readAll(zoned, ['timestamp_col'])).rejects.toThrow(
      'was written in time zone America/Los_Angeles: this reader reads timestamps written in UTC only',
    );
  });

  it.each([
    ['missing_length_stream_in_string_dict', 'string_col', 'has no LENGTH stream'],
    ['negative_dict_entry_lengths', 'date_string_col', 'has a negative string length'],
  ])('refuses the corrupt %s with an error, never a wrong value', async (name, field, message) => {
    const file = await open(`corrupt/${name}`);
    const error = await readAll(file, [field]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OrcError);
    expect((error as Error).message).toContain(message);
  });

  it('refuses a corrupt footer, a truncated file and a file that is not ORC', async () => {
    const badFooter = await open('corrupt/stripe_footer_bad_column_encodings');
    await expect(readAll(badFooter, badFooter.fields)).rejects.toThrow();
    const whole = await readFile(new URL('orc_index_int_string.orc', FIXTURES));
    await expect(OrcFile.open(bufferSource(whole.subarray(0, whole.length - 7)), 'truncated')).rejects.toThrow(
      'truncated is not an ORC file, or is truncated',
    );
    await expect(OrcFile.open(bufferSource(Buffer.from('"bucket","key"\n'.repeat(10))), 'csv')).rejects.toThrow('csv is not an ORC file');
  });
});
