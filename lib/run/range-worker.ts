import type { S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../core/listing.ts';
import { RunStats } from '../core/run-stats.ts';
import type { Log } from '../core/types.ts';
import { completeBackfillIfFinished } from './backfill-completion.ts';
import { type LeaseClaim, PartLease } from './part-lease.ts';
import { handOverToContinuation } from './part-outcomes.ts';
import type { RangeTask } from './range-task.ts';
import { RangeWork } from './range-work.ts';
import { getJson, putJson, rangeCheckpointKey, rangeFinishedKey, rangeFinishedPrefix, type RunFolder } from './state.ts';
import type { BackfillReport, RangeCheckpoint, RangeOutcome, RangeResult, WorkerContext } from './types.ts';

/**
 * Lists one key range of a backfill run and publishes its keys, with the same lease, checkpoints
 * and continuations as a report's part: the checkpoint keeps the last key settled with every key
 * before it, and:
 * - a full page splits the rest of the range into pieces queued for other workers;
 * - at the end of the range, records its result and, if it was the last range, the run's report;
 * - when `budget` aborts, stops between two keys once its batches have settled, and queues a task
 *   for the rest;
 * - on an error, saves where it got to and throws, so that SQS delivers the task again.
 * A crash loses at most the keys published since the last checkpoint: they are published again.
 */
export async function runRangeTask(task: RangeTask, owner: string, context: WorkerContext, budget?: AbortSignal): Promise<RangeOutcome> {
  const { s3, log, settings } = context;
  if (await rangeFinished(s3, task.run, task.id)) {
    // The worker that finished it may have failed before it completed the run.
    await completeBackfillIfFinished(s3, task.run, log);
    return skipped(context, task, 'the range is already finished');
  }
  const lease = await PartLease.take(s3, task.run, rangeLeaseClaim(task), { owner, leaseMs: settings.leaseMs, log });
  if (typeof lease === 'string') return skipped(context, task, lease);
  const work = new RangeWork(task, lease, context, budget);
  await work.run();
  if (lease.lost) return skipped(context, task, 'another worker took the range over');
  if (work.failed) throw await work.fail();
  if (work.ended) return finishRange(work);
  await handOverToContinuation(context, lease, { ...task, sequence: task.sequence + 1 });
  const label = { range: task.id, sequence: task.sequence };
  log.info('range continues in a new task', { ...label, next: task.sequence + 1, settledThrough: lease.checkpoint.settledThrough });
  work.metrics?.record({ continuations: 1 });
  return { status: 'continued', ...label, published: work.publishedNow, split: work.listing.handedOff };
}

export function rangeLeaseClaim(task: RangeTask): LeaseClaim<RangeCheckpoint> {
  return {
    key: rangeCheckpointKey(task.run, task.id),
    sequence: task.sequence,
    first: (owner, now) => ({
      id: task.id,
      range: task.range,
      children: 0,
      budget: task.budget,
      owner,
      sequence: task.sequence,
      counters: new RunStats().counters(),
      continuations: task.sequence,
      startedAt: now,
      updatedAt: now,
    }),
  };
}

async function rangeFinished(s3: S3Client, run: RunFolder, id: string): Promise<boolean> {
  for await (const _ of listObjects(s3, run.bucket, rangeFinishedPrefix(run, id))) return true;
  return false;
}

/** The range is listed to its end: its result, then the run's report if it was the last. */
async function finishRange(work: RangeWork): Promise<RangeOutcome> {
  const { lease, task, stats, context } = work;
  // A holder whose last save finds the range taken over writes no result: the new holder will, with every piece it knows of.
  if (!(await lease.save())) return skipped(context, task, 'another worker took the range over');
  const { children, continuations, startedAt } = lease.checkpoint;
  const result: RangeResult = {
    id: task.id,
    status: 'done',
    children,
    hadKeys: work.hadKeys,
    // Every key of the range, once, however often a crash made workers list some of them again.
    counters: { ...stats.counters(), rowsRead: work.listing.settledKeys },
    continuations,
    startedAt,
    endedAt: new Date().toISOString(),
  };
  await putJson(context.s3, task.run.bucket, rangeFinishedKey(task.run, task.id, children), result, { ifNoneMatch: '*' });
  const label = { range: task.id, sequence: task.sequence };
  context.log.info('range done', { ...label, published: result.counters.published, pieces: children, continuations });
  let runDurationSeconds: number | undefined;
  const report = await completeBackfillIfFinished(context.s3, task.run, context.log, (written) => {
    runDurationSeconds = (Date.parse(written.endedAt) - Date.parse(written.startedAt)) / 1000;
  });
  work.metrics?.record({ partsFinished: 1, ...(runDurationSeconds !== undefined && { runDurationSeconds }) });
  return { status: 'done', ...label, published: work.publishedNow, split: work.listing.handedOff, ...(report && { report }) };
}

function skipped({ log }: WorkerContext, task: RangeTask, reason: string): RangeOutcome {
  const label = { range: task.id, sequence: task.sequence };
  log.info('range task skipped', { ...label, reason });
  return { status: 'skipped', ...label, reason };
}

/**
 * Records a range whose task ended in the dead-letter queue as failed, with the last error its
 * workers saved, so that the run still gets its report and the report names it. Pieces it recorded
 * but may not have queued are not waited for: the result counts only those known to be queued.
 */
export async function recordFailedRange(s3: S3Client, task: RangeTask, reason: string, log: Log): Promise<BackfillReport | undefined> {
  const { run, id } = task;
  if (await rangeFinished(s3, run, id)) return completeBackfillIfFinished(s3, run, log);
  const checkpoint = (await getJson<RangeCheckpoint>(s3, run.bucket, rangeCheckpointKey(run, id)))?.value;
  const unqueued = checkpoint?.pending?.length ?? 0;
  const children = (checkpoint?.children ?? 0) - unqueued;
  const lost = unqueued > 0 ? `; ${unqueued} pieces it split off may never have been queued` : '';
  const result: RangeResult = {
    id,
    status: 'failed',
    children,
    hadKeys: checkpoint?.hadKeys === true,
    counters: checkpoint?.counters ?? new RunStats().counters(),
    continuations: checkpoint?.continuations ?? task.sequence,
    ...(checkpoint && { startedAt: checkpoint.startedAt }),
    endedAt: new Date().toISOString(),
    error: `${checkpoint?.lastError ? `${reason}; last error: ${checkpoint.lastError}` : reason}${lost}`,
  };
  await putJson(s3, run.bucket, rangeFinishedKey(run, id, children), result, { ifNoneMatch: '*' });
  log.error('range failed', { range: id, runId: task.runId, error: result.error, settledThrough: checkpoint?.settledThrough });
  return completeBackfillIfFinished(s3, run, log);
}
