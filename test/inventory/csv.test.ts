import { describe, expect, it } from 'vitest';
import { csvRecordBatches } from '../../lib/inventory/csv.ts';

async function records(chunks: Array<string | Buffer>, firstRow = 0): Promise<string[][]> {
  const all: string[][] = [];
  const source = (async function* () {
    for (const chunk of chunks) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
  })();
  for await (const batch of csvRecordBatches(source, firstRow)) all.push(...batch);
  return all;
}

describe('csvRecordBatches', () => {
  it('reads S3 Inventory lines: every field quoted, blank lines at the end skipped', async () => {
    expect(await records(['"b","a%2Bb.jpg","","true"\n"b","c.jpg","v1","false"\n\n\n'])).toEqual([
      ['b', 'a%2Bb.jpg', '', 'true'],
      ['b', 'c.jpg', 'v1', 'false'],
    ]);
  });

  it('reads any RFC 4180 quoting within a line', async () => {
    expect(await records(['bare,"with ""quotes"", and a comma",,"",last,\r\n"x"'])).toEqual([
      ['bare', 'with "quotes", and a comma', '', '', 'last', ''],
      ['x'],
    ]);
  });

  it('joins lines and characters cut between chunks', async () => {
    const line = Buffer.from('"b","café/日本.png"\n');
    const cuts = [3, 9, 11, 14];
    const pieces = [0, ...cuts].map((start, index) => line.subarray(start, cuts[index] ?? line.length));
    expect(await records([...pieces, '"b","z"'])).toEqual([
      ['b', 'café/日本.png'],
      ['b', 'z'],
    ]);
  });

  it('names the row and the problem of a malformed line, counting from the rows before it', async () => {
    await expect(records(['"b","ok"\n\n"b","never closed\n'], 40)).rejects.toThrow(
      'row 42: field 2 opens a quote that the line never closes',
    );
    await expect(records(['"b","x"y\n'])).rejects.toThrow('row 1: field 2 has "y" after its closing quote');
    await expect(records(['b,x"y\n'])).rejects.toThrow('row 1: a quote inside the unquoted field 2');
  });
});
