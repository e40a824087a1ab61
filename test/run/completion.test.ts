import { describe, expect, it } from 'vitest';
import { RunStats } from '../../lib/core/run-stats.ts';
import { completeRunIfFinished } from '../../lib/run/completion.ts';
import type { PartTask } from '../../lib/run/part-task.ts';
import { recordResult } from '../../lib/run/shards.ts';
import { runFolder } from '../../lib/run/state.ts';
import type { RunReport } from '../../lib/run/types.ts';
import { MemoryS3 } from '../support/memory-s3.ts';
import { silentLog } from '../support/emulator.ts';

/** Every part of a run finishes, `concurrency` at a time in a shuffled order; the reports written come back. */
async function finishAll(s3: MemoryS3, parts: number, concurrency: number, failed = new Set<number>()): Promise<RunReport[]> {
  const manifest = { bucket: 'inventory', key: 'inventory/source/daily/2026-12-01T00-00Z/manifest.json' };
  const run = runFolder(manifest);
  const order = Array.from({ length: parts }, (_, part) => part).sort(() => Math.random() - 0.5);
  const reports: RunReport[] = [];
  const finish = async (part: number) => {
    const task = { manifest, run, sourceBucket: 'source', part, parts, file: { key: `${part}`, size: 1, md5: '' } } as PartTask;
    const counters = { ...new RunStats().counters(), rowsRead: 3, published: failed.has(part) ? 0 : 3 };
    const status = failed.has(part) ? 'failed' : 'done';
    await recordResult(
      s3.asClient(),
      task,
      { status, rowsDone: 3, counters, continuations: 0, endedAt: new Date().toISOString() },
      silentLog,
    );
    const report = await completeRunIfFinished(s3.asClient(), task, silentLog);
    if (report) reports.push(report);
  };
  for (let start = 0; start < parts; start += concurrency) await Promise.all(order.slice(start, start + concurrency).map(finish));
  return reports;
}

describe('completion of a run, counted in groups of parts', () => {
  it('costs about three requests per part for 10,000 parts finishing in any order, 32 at a time', async () => {
    const s3 = new MemoryS3();
    const reports = await finishAll(s3, 10_000, 32);
    expect(reports.length).toBeGreaterThan(0);
    expect(reports[0]).toMatchObject({
      status: 'complete',
      parts: 10_000,
      failedParts: [],
      totals: { rowsRead: 30_000, published: 30_000 },
    });
    // Each part: its result and one listing of its group. Each group of 1,000: its results read once, its lock and summary.
    expect(s3.requests / 10_000).toBeLessThan(3.1);
    expect(s3.calls.get('ListObjectsV2')).toBeLessThan(10_000 + 200);
    // Listing every finished part on every finish, as before, took 55,000 listing calls (the k-th finish: ceil(k / 1,000)).
  });

  it('writes one report, naming the failed parts, whatever the order', async () => {
    const s3 = new MemoryS3();
    const reports = await finishAll(s3, 2_500, 64, new Set([7, 1_999, 2_400]));
    expect(new Set(reports.map((report) => report.endedAt)).size).toBe(1);
    expect(reports[0]).toMatchObject({ status: 'failed', parts: 2_500, failedParts: [7, 1_999, 2_400] });
    expect(reports[0]?.partResults.map((result) => result.part)).toEqual([7, 1_999, 2_400]);
  });

  it("keeps every part's result in the report of a run of one group", async () => {
    const s3 = new MemoryS3();
    const [report] = await finishAll(s3, 40, 8);
    expect(report?.partResults.map((result) => result.part)).toEqual(Array.from({ length: 40 }, (_, part) => part));
  });
});
