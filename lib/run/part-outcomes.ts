import type { InvocationOutcome } from '../core/metrics.ts';
import type { PartWork } from './part-work.ts';
import type { PartLease } from './part-lease.ts';
import { queueTasks, type WorkTask } from './part-task.ts';
import { completeRunIfFinished } from './completion.ts';
import { recordResult } from './shards.ts';
import type { LeaseRecord, PartOutcome, WorkerContext, WorkResult } from './types.ts';

/**
 * The file was split: a crash before this save queues the shards again when the task is
 * redelivered, and the copies find each shard's lease taken or its result written, and are skipped.
 */
export async function handOverToShards({ lease, label, context }: PartWork, shards: number): Promise<PartOutcome> {
  await lease.save({ shards, handedOver: true });
  context.log.info('part split into shards', { ...label, rows: lease.checkpoint.verified?.rows, shards });
  return { status: 'split', ...label, shards };
}

/** The file, or the shard, is done: its result, then the run's report if it was the last. */
export async function finishPart(work: PartWork): Promise<PartOutcome> {
  const { lease, task, read, stats, context, label } = work;
  const result: WorkResult = {
    status: 'done',
    rowsDone: read.watermark.rowsDone,
    // Every row of the range, once, however often a crash made workers read some of them again.
    counters: { ...stats.counters(), rowsRead: Math.max(0, read.watermark.rowsDone - (task.shard?.firstRow ?? 0)) },
    continuations: lease.checkpoint.continuations,
    startedAt: lease.checkpoint.startedAt,
    endedAt: new Date().toISOString(),
  };
  await lease.save();
  await recordResult(context.s3, task, result, context.log);
  context.log.info(task.shard === undefined ? 'part done' : 'shard done', {
    ...label,
    rowsDone: result.rowsDone,
    published: result.counters.published,
    continuations: result.continuations,
  });
  const outcome: InvocationOutcome = { partsFinished: 1 };
  const report = await completeRunIfFinished(context.s3, task, context.log, (written) => {
    outcome.runDurationSeconds = (Date.parse(written.endedAt) - Date.parse(written.startedAt)) / 1000;
  });
  work.metrics?.record(outcome);
  return { status: 'done', ...label, rowsDone: result.rowsDone, published: work.publishedNow, ...(report && { report }) };
}

/**
 * Out of time: queue the rest first, then hand over. A crash in between leaves both tasks alive;
 * the later sequence wins the lease, and nothing is skipped.
 */
export async function continueInNewTask(work: PartWork): Promise<PartOutcome> {
  const { lease, task, read, context, label } = work;
  const rowsDone = read.watermark.rowsDone;
  await handOverToContinuation(context, lease, { ...task, startRow: rowsDone, sequence: task.sequence + 1 });
  context.log.info('part continues in a new task', { ...label, next: task.sequence + 1, rowsDone });
  work.metrics?.record({ continuations: 1 });
  return { status: 'continued', ...label, rowsDone, published: work.publishedNow };
}

/**
 * Queues the next link of a task's chain, then marks the lease handed over. A crash in between
 * leaves both tasks alive; the later sequence wins the lease, and nothing is skipped.
 */
export async function handOverToContinuation<C extends LeaseRecord>(
  context: WorkerContext,
  lease: PartLease<C>,
  next: WorkTask,
): Promise<void> {
  await queueTasks(context.work, context.settings.workQueueUrl, [next]);
  await lease.save({ handedOver: true, continuations: lease.checkpoint.continuations + 1 } as Partial<C>);
}
