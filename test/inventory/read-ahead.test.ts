import { describe, expect, it } from 'vitest';
import { readAhead } from '../../lib/inventory/read-ahead.ts';

/** Fetches that finish when the test says so, with what was started and not yet used. */
function trackedFetches(sizes: number[]) {
  const started: number[] = [];
  const finish = new Map<number, () => void>();
  const fetch = (block: number) =>
    new Promise<number>((resolve) => {
      started.push(block);
      finish.set(block, () => resolve(block));
    });
  return { blocks: sizes.map((_, index) => index), started, finish, fetch, weight: (block: number) => sizes[block] as number };
}

describe('readAhead', () => {
  it('hands the blocks over in order, whatever order their fetches finish in', async () => {
    const { blocks, finish, fetch, weight } = trackedFetches([1, 1, 1, 1]);
    const reading = (async () => {
      const seen: number[] = [];
      for await (const block of readAhead(blocks, fetch, weight, 10)) seen.push(block);
      return seen;
    })();
    await Promise.resolve();
    for (const block of [3, 1, 2, 0]) finish.get(block)?.();
    expect(await reading).toEqual([0, 1, 2, 3]);
  });

  it('starts fetches while what is fetched and not used weighs under the budget, and always the next one', async () => {
    const { blocks, started, finish, fetch, weight } = trackedFetches([4, 4, 4, 20, 4]);
    const reads = readAhead(blocks, fetch, weight, 10);
    const first = reads.next();
    expect(started).toEqual([0, 1]);
    finish.get(0)?.();
    expect((await first).value).toBe(0);
    // Block 0 is in use: 0 and 1 weigh 8, block 2 would make 12.
    expect(started).toEqual([0, 1]);
    const second = reads.next();
    finish.get(1)?.();
    expect((await second).value).toBe(1);
    // 1 in use (4), 2 fetched: 8; block 3 (20) waits until it is the only one left to fetch.
    expect(started).toEqual([0, 1, 2]);
    const third = reads.next();
    finish.get(2)?.();
    expect((await third).value).toBe(2);
    expect(started).toEqual([0, 1, 2, 3]);
    const fourth = reads.next();
    finish.get(3)?.();
    expect((await fourth).value).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    finish.get(4)?.();
    expect((await reads.next()).value).toBe(4);
    expect((await reads.next()).done).toBe(true);
  });

  it('fails where the failed block is reached, after the blocks before it', async () => {
    const fetch = async (block: number) => {
      if (block === 2) throw new Error('block 2 could not be read');
      return block;
    };
    const seen: number[] = [];
    const reading = (async () => {
      for await (const block of readAhead([0, 1, 2, 3], fetch, () => 1, 100)) seen.push(block);
    })();
    await expect(reading).rejects.toThrow('block 2 could not be read');
    expect(seen).toEqual([0, 1]);
  });
});
