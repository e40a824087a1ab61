import { describe, expect, it } from 'vitest';
import { OrcFile } from '../../lib/inventory/orc/file.ts';
import { bufferSource } from '../../lib/inventory/ranged-source.ts';
import { type OrcColumn, writeOrc } from '../../lib/local/orc-writer.ts';

/** Every value of every column, stripe by stripe, read back by the project's reader in batches of `batch`. */
async function readBack(bytes: Buffer, names: string[], batch: number): Promise<Record<string, unknown[]>> {
  const file = await OrcFile.open(bufferSource(bytes), 'written');
  const read: Record<string, unknown[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let index = 0; index < file.stripes.length; index += 1) {
    const readers = await file.stripe(index, names);
    for (let left = file.stripes[index]?.rows ?? 0; left > 0; left -= batch) {
      for (const name of names) read[name]?.push(...(readers.get(name)?.read(Math.min(left, batch)) ?? []));
    }
  }
  return read;
}

const rows = 3_000;
const at = (row: number) => (row * 2_654_435_761) % 4_294_967_296;

describe('the local ORC writer', () => {
  // Its encodings were also read back by pyarrow (Apache ORC's C++ reader) when they were written.
  it('writes what the reader reads back: dictionaries, direct strings, RLE v2 runs and literals, byte runs, nulls', async () => {
    const columns: OrcColumn[] = [
      { name: 'bucket', type: 'string', values: Array.from({ length: rows }, () => 'a-bucket') },
      {
        name: 'key',
        type: 'string',
        values: Array.from({ length: rows }, (_, row) => (row % 7 ? `k/${'é'.repeat(row % 4)}${at(row)}` : null)),
      },
      {
        name: 'storage_class',
        type: 'string',
        values: Array.from({ length: rows }, (_, row) => ['STANDARD', 'GLACIER', null][row % 3] ?? null),
      },
      { name: 'is_latest', type: 'boolean', values: Array.from({ length: rows }, (_, row) => row < 2_000 || row % 3 === 0) },
      {
        name: 'size',
        type: 'bigint',
        values: Array.from({ length: rows }, (_, row) =>
          row < 700 ? 1_000 + row : row < 1_400 ? 5 : row % 2 ? at(row) + 2 ** 50 : -at(row),
        ),
      },
      {
        name: 'last_modified_date',
        type: 'timestamp',
        values: Array.from({ length: rows }, (_, row) => new Date(Date.UTC(2026, 0, 1) + (row < 1_000 ? 0 : at(row) * 17))),
      },
    ];
    const names = columns.map((column) => column.name);
    const read = await readBack(writeOrc(columns, 1_100), names, 512);
    for (const column of columns) {
      const values = column.type === 'timestamp' ? column.values.map((value) => value?.getTime() ?? null) : column.values;
      expect(read[column.name], column.name).toEqual(values);
    }
  });
});
