import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RowCounter, skipRows } from '../../lib/inventory/rows.ts';

const CSV = '"b","k1"\n"b","k2"\n\n"b","k3"\n"b","k4"\n\n\n"b","k5"';
/** The text cut into chunks at the given offsets. */
const chunks = (text: string, cuts: number[]) => {
  const bytes = Buffer.from(text);
  const edges = [0, ...cuts, bytes.length];
  return edges.slice(1).map((end, index) => bytes.subarray(edges[index], end));
};

describe('RowCounter', () => {
  it('counts non-empty lines, the last one without a newline too, wherever the chunks are cut', () => {
    for (let cut = 0; cut <= CSV.length; cut += 1) {
      for (const text of [CSV, `${CSV}\n\n`]) {
        const counter = new RowCounter();
        for (const chunk of chunks(text, [cut, Math.min(cut + 3, text.length)])) counter.feed(chunk);
        expect(counter.end(), `cut at ${cut}`).toBe(5);
      }
    }
  });
});

describe('skipRows', () => {
  it('drops exactly the first n rows and passes the rest byte for byte, wherever the chunks are cut', async () => {
    const rows = ['"b","k1"', '"b","k2"', '"b","k3"', '"b","k4"', '"b","k5"'];
    for (let skip = 0; skip <= 6; skip += 1) {
      for (let cut = 1; cut < CSV.length; cut += 4) {
        const output = Buffer.concat(
          await Readable.from(chunks(CSV, [cut]))
            .pipe(skipRows(skip, { uri: 's3://b/k' }))
            .toArray(),
        ).toString();
        const kept = output.split('\n').filter(Boolean);
        expect(kept, `skip ${skip}, cut at ${cut}`).toEqual(rows.slice(skip));
      }
    }
  });

  it('fails by name, with how far it got, once the read is out of time before the skip ends', async () => {
    let chunksSeen = 0;
    const skip = skipRows(4, { uri: 's3://b/k', outOfTime: () => chunksSeen++ >= 2 });
    const reading = Readable.from(chunks(CSV, [9, 18, 27]))
      .pipe(skip)
      .toArray();
    await expect(reading).rejects.toThrow(
      "data file s3://b/k: the time ran out after skipping 2 of the 4 rows before this read's first: a gzipped file cannot be read from the middle",
    );
  });
});
