import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { InvalidArgumentError } from '../core/errors.ts';
import { type LeaseClaim, PartLease } from './part-lease.ts';
import { continueInNewTask, finishPart, handOverToShards } from './part-outcomes.ts';
import { parseWorkTask, type PartTask, type WorkTask } from './part-task.ts';
import { runRangeTask } from './range-worker.ts';
import { PartWork, taskLabel } from './part-work.ts';
import { completeRunIfFinished } from './completion.ts';
import { completeShardedPart } from './shards.ts';
import { checkpointKey, finishedKey, getJson } from './state.ts';
import { RunStats } from '../core/run-stats.ts';
import type { PartCheckpoint, PartOutcome, RangeOutcome, WorkerContext } from './types.ts';

/**
 * A batch of work-queue messages (the stack uses batches of one), each a report's part or shard or
 * a backfill's key range: each task may publish for
 * `budgetMs()`, and the ones that failed are returned for SQS to deliver again.
 */
export async function runTaskBatch(event: SQSEvent, context: WorkerContext, budgetMs: () => number): Promise<SQSBatchResponse> {
  if (!Array.isArray((event as Partial<SQSEvent> | null)?.Records)) {
    throw new InvalidArgumentError('worker event has no "Records" array: expected an SQS event of the work queue');
  }
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const budget = AbortSignal.timeout(budgetMs());
      // The report, if this task completed the run, was logged once already: not again here.
      const outcome = await runWorkTask(parseWorkTask(record.body), record.messageId, context, budget);
      const { report, ...logged } = { report: undefined, ...outcome };
      context.log.info('work task ended', { ...logged, ...(report && { runStatus: report.status }) });
    } catch (error) {
      context.log.error('work task failed', { messageId: record.messageId, error: error as Error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

/** A task of the work queue, whichever its kind: a report's part or shard, or a backfill's key range. */
export function runWorkTask(
  task: WorkTask,
  owner: string,
  context: WorkerContext,
  budget?: AbortSignal,
): Promise<PartOutcome | RangeOutcome> {
  return 'kind' in task ? runRangeTask(task, owner, context, budget) : runPartTask(task, owner, context, budget);
}

/**
 * Publishes one data file of a report, or the rest of it. The worker first takes the part's lease
 * (its checkpoint object), resumes after the rows the checkpoint says are done, saves the
 * checkpoint every few seconds and when it stops, and:
 * - on the part's first task, checks the file and, if it is big, splits it into shards;
 * - at the end of the file, records the part's result and, if it was the last part, the report;
 * - when `budget` aborts, stops at a row boundary once its batches have settled, and queues a task
 *   for the rest;
 * - on an error, saves where it got to and throws, so that SQS delivers the task again.
 * A crash loses at most the rows published since the last checkpoint: they are published again.
 */
export async function runPartTask(task: PartTask, owner: string, context: WorkerContext, budget?: AbortSignal): Promise<PartOutcome> {
  const { s3, log, settings } = context;
  const finished = await finishedAlready(context, task);
  if (finished) return skipped(context, task, finished);
  const lease = await PartLease.take(s3, task.run, partLeaseClaim(task), { owner, leaseMs: settings.leaseMs, log });
  if (typeof lease === 'string') return skipped(context, task, lease);
  const work = new PartWork(task, lease, context, budget);
  await work.run();
  if (lease.lost) return skipped(context, task, 'another worker took the part over');
  if (work.failed) throw await work.fail();
  if (work.shards) return handOverToShards(work, work.shards.length);
  if (work.read.ended) return finishPart(work);
  return continueInNewTask(work);
}

/**
 * Why the task has nothing left to do: its part or shard has a result. The worker that wrote it
 * may have failed to write what follows, so a redelivery completes that first.
 */
async function finishedAlready({ s3, log }: WorkerContext, task: PartTask): Promise<string | undefined> {
  const run = task.run;
  if (await getJson(s3, run.bucket, finishedKey(run, task.part))) {
    await completeRunIfFinished(s3, task, log);
    return 'the part is already finished';
  }
  const shard = task.shard?.index;
  if (shard !== undefined && (await getJson(s3, run.bucket, finishedKey(run, task.part, shard)))) {
    await completeShardedPart(s3, task, log);
    await completeRunIfFinished(s3, task, log);
    return 'the shard is already finished';
  }
  return undefined;
}

function skipped({ log }: WorkerContext, task: PartTask, reason: string): PartOutcome {
  const label = taskLabel(task);
  log.info('part task skipped', { ...label, reason });
  return { status: 'skipped', ...label, reason };
}

/** The checkpoint of a part (or shard) as its lease: a part split into shards is not published whole. */
export function partLeaseClaim(task: PartTask): LeaseClaim<PartCheckpoint> {
  return {
    key: checkpointKey(task.run, task.part, task.shard?.index),
    sequence: task.sequence,
    first: (owner, now) => ({
      part: task.part,
      ...(task.shard && { shard: task.shard.index, verified: task.shard.verified }),
      file: task.file.key,
      owner,
      sequence: task.sequence,
      rowsDone: task.startRow,
      counters: new RunStats().counters(),
      continuations: task.sequence,
      startedAt: now,
      updatedAt: now,
    }),
    refuse: (current) => (current.shards === undefined ? undefined : `the part was split into ${current.shards} shards`),
  };
}
