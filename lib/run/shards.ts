import type { S3Client } from '@aws-sdk/client-s3';
import type { VerifiedFile } from '../inventory/data-file.ts';
import type { PartTask, ShardRange } from './part-task.ts';
import { countFinished, finishedKey, finishedResults, putJson, shardFinishedPrefix, type WriteCondition } from './state.ts';
import { RunStats } from '../core/run-stats.ts';
import type { Log } from '../core/types.ts';
import type { PartResult, ShardResult, WorkResult } from './types.ts';

/**
 * The tasks that publish a verified data file in shards of at most `shardRows` rows; undefined
 * when the file is small enough for one task. A Parquet or ORC file is split between its row
 * groups or stripes, so that each shard starts reading at its own first byte; a CSV file into
 * even row ranges of its estimated rows. The last shard has no end: it reads to the end of the
 * file, so rows the count missed are still published.
 */
export function shardTasks(task: PartTask, verified: VerifiedFile, shardRows: number): PartTask[] | undefined {
  if (verified.rows <= shardRows) return undefined;
  const starts = verified.blocks ? blockStarts(verified.blocks, shardRows) : evenStarts(verified.rows, shardRows);
  if (starts.length < 2) return undefined;
  // Shards need the count and the ETag, not every block's rows.
  const { blocks: _, ...checked } = verified;
  return starts.map((firstRow, index) => {
    const next = starts[index + 1];
    const shard: ShardRange = { index, count: starts.length, firstRow, ...(next !== undefined && { lastRow: next }), verified: checked };
    return { ...task, startRow: firstRow, sequence: 0, shard };
  });
}

/** Even row ranges: the first row of each. */
function evenStarts(rows: number, shardRows: number): number[] {
  const count = Math.ceil(rows / shardRows);
  const size = Math.ceil(rows / count);
  return Array.from({ length: count }, (_, index) => index * size);
}

/** Consecutive blocks gathered into shards of at most `shardRows` rows (or one block, if larger): the first row of each. */
function blockStarts(blocks: number[], shardRows: number): number[] {
  const starts: number[] = [];
  let row = 0;
  let inShard = 0;
  for (const rows of blocks) {
    if (starts.length === 0 || (inShard > 0 && inShard + rows > shardRows)) {
      starts.push(row);
      inShard = 0;
    }
    inShard += rows;
    row += rows;
  }
  return starts;
}

/**
 * Records how a part, or one shard of it, ended; a shard's result completes its part's result once
 * every shard of the part has one (any failed shard fails the part). With `firstOnly`, a result
 * already there is kept. Returns false when that kept this one from being written.
 */
export async function recordResult(s3: S3Client, task: PartTask, result: WorkResult, log: Log, firstOnly = false): Promise<boolean> {
  const run = task.run;
  const condition: WriteCondition = firstOnly ? { ifNoneMatch: '*' } : {};
  if (!task.shard) {
    const partResult: PartResult = { part: task.part, file: task.file.key, ...result };
    return (await putJson(s3, run.bucket, finishedKey(run, task.part), partResult, condition)) !== undefined;
  }
  const { index, firstRow, lastRow } = task.shard;
  const shardResult: ShardResult = { shard: index, firstRow, ...(lastRow !== undefined && { lastRow }), ...result };
  const written = (await putJson(s3, run.bucket, finishedKey(run, task.part, index), shardResult, condition)) !== undefined;
  await completeShardedPart(s3, task, log);
  return written;
}

/** Writes the result of a sharded part from its shards' results once they all have one. */
export async function completeShardedPart(s3: S3Client, task: PartTask, log: Log): Promise<void> {
  if (!task.shard) return;
  const run = task.run;
  // One listing call while shards remain; their results are read once, by the shard that finds them all.
  if ((await countFinished(s3, run.bucket, shardFinishedPrefix(run, task.part))) < task.shard.count) return;
  const shards: ShardResult[] = [];
  for await (const result of finishedResults<ShardResult>(s3, run.bucket, shardFinishedPrefix(run, task.part))) shards.push(result);
  if (shards.length < task.shard.count) return;
  const failed = shards.filter((shard) => shard.status === 'failed');
  const stats = new RunStats();
  for (const shard of shards) stats.restore(shard.counters);
  const counters = stats.counters();
  const result: PartResult = {
    part: task.part,
    file: task.file.key,
    status: failed.length > 0 ? 'failed' : 'done',
    // Rows read by the shards together: every row of the file once.
    rowsDone: counters.rowsRead,
    counters,
    continuations: shards.reduce((sum, shard) => sum + shard.continuations, 0),
    startedAt: shards.map((shard) => shard.startedAt ?? shard.endedAt).sort()[0] ?? new Date().toISOString(),
    endedAt: new Date().toISOString(),
    ...(failed.length > 0 && { error: failed.map((shard) => `shard ${shard.shard}: ${shard.error}`).join('; ') }),
    shards,
  };
  if ((await putJson(s3, run.bucket, finishedKey(run, task.part), result, { ifNoneMatch: '*' })) !== undefined) {
    log.info('sharded part done', { part: task.part, status: result.status, shards: shards.length, published: counters.published });
  }
}
