import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { InvalidArgumentError, RunFailedError } from '../core/errors.ts';
import { readInventoryFile, verifyDataFile, type InventoryObject } from '../inventory/reader.ts';
import { parsePartTask, queueTasks, type PartTask } from './part-task.ts';
import { publishAll, type PipelineContext } from '../publish/pipeline.ts';
import { RowWatermark } from '../core/row-watermark.ts';
import { completeRunIfFinished, type RunReport } from './report.ts';
import { completeShardedPart, recordResult, shardTasks } from './shards.ts';
import { checkpointKey, finishedKey, getJson, putJson, runFolder, type PartCheckpoint, type RunFolder, type WorkResult } from './state.ts';
import { InvocationMetrics, type InvocationOutcome } from '../core/metrics.ts';
import { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';

export interface WorkerSettings {
  workQueueUrl: string;
  /** How often the checkpoint is saved while publishing. */
  checkpointIntervalMs: number;
  /** A checkpoint not saved for this long belongs to a worker that is gone. */
  leaseMs: number;
  /** Data files of more rows are split into shards of at most this many, published in parallel. */
  shardRows: number;
}

export interface WorkerContext extends PipelineContext {
  /** Client for the work queue, with the SDK's own retries. */
  work: SQSClient;
  settings: WorkerSettings;
  /** Where each invocation's counters go as CloudWatch metrics, if anywhere. */
  metrics?: Metrics;
}

export type PartOutcome = { part: number; shard?: number; sequence: number } & (
  | {
      status: 'done' | 'continued';
      rowsDone: number;
      /** Messages published by this invocation. */
      published: number;
      report?: RunReport;
    }
  | { status: 'split'; shards: number }
  | { status: 'skipped'; reason: string }
);

/**
 * A batch of work-queue messages (the stack uses batches of one): each task may publish for
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
      const outcome = await runPartTask(parsePartTask(record.body), record.messageId, context, budget);
      const { report, ...logged } = { report: undefined, ...outcome };
      context.log.info('part task ended', { ...logged, ...(report && { runStatus: report.status }) });
    } catch (error) {
      context.log.error('part task failed', { messageId: record.messageId, error: error as Error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

/**
 * Publishes one data file of a report, or the rest of it. The worker first takes the part's lease
 * (its checkpoint object), resumes after the rows the checkpoint says are done, saves the
 * checkpoint every few seconds and when it stops, and:
 * - at the end of the file, records the part's result and, if it was the last part, the report;
 * - when `budget` aborts, stops at a row boundary once its batches have settled, and queues a task
 *   for the rest (gzip cannot seek: the next worker re-reads and skips, which costs far less than
 *   publishing);
 * - on an error, saves where it got to and throws, so that SQS delivers the task again.
 * A crash loses at most the rows published since the last checkpoint: they are published again.
 */
export async function runPartTask(task: PartTask, owner: string, context: WorkerContext, budget?: AbortSignal): Promise<PartOutcome> {
  const { s3, log, settings } = context;
  const run = runFolder(task.manifest);
  const shard = task.shard?.index;
  const which = { part: task.part, ...(shard !== undefined && { shard }), sequence: task.sequence };
  const skipped = (reason: string): PartOutcome => {
    log.info('part task skipped', { ...which, reason });
    return { status: 'skipped', ...which, reason };
  };
  // The worker that finished it may have failed to write what follows: a redelivery completes it.
  if (await getJson(s3, run.bucket, finishedKey(run, task.part))) {
    await completeRunIfFinished(s3, task, log);
    return skipped('the part is already finished');
  }
  if (shard !== undefined && (await getJson(s3, run.bucket, finishedKey(run, task.part, shard)))) {
    await completeShardedPart(s3, task, log);
    await completeRunIfFinished(s3, task, log);
    return skipped('the shard is already finished');
  }
  const lease = await takePart(context, run, task, owner);
  if (typeof lease === 'string') return skipped(lease);

  let { checkpoint, etag } = lease;
  const startRow = Math.max(task.startRow, checkpoint.rowsDone);
  const stats = new RunStats();
  // Keys that failed before are at or after the checkpoint, so they are sent again now.
  stats.restore({ ...checkpoint.counters, failed: 0, failedKeys: [] });
  const publishedBefore = stats.published;
  const metrics = context.metrics && new InvocationMetrics(context.metrics, stats, log);
  const watermark = new RowWatermark(startRow);
  const position = { row: startRow };
  let leaseLost = false;
  let endOfFile = false;

  /** Saves the checkpoint if the lease is still ours; false when another worker took the part. */
  const saveNow = async (changes: Partial<PartCheckpoint>): Promise<boolean> => {
    if (leaseLost) return false;
    const next: PartCheckpoint = {
      ...checkpoint,
      rowsDone: watermark.rowsDone,
      counters: stats.counters(),
      updatedAt: new Date().toISOString(),
      ...changes,
    };
    const saved = await putJson(s3, run.bucket, checkpointKey(run, task.part, shard), next, { ifMatch: etag });
    if (saved === undefined) {
      leaseLost = true;
      log.warn('another worker took the part over', which);
      return false;
    }
    checkpoint = next;
    etag = saved;
    return true;
  };
  // One save at a time: each writes with If-Match on the ETag the one before it got.
  let saving: Promise<unknown> = Promise.resolve();
  const save = (changes: Partial<PartCheckpoint> = {}): Promise<boolean> => {
    const saved = saving.then(() => saveNow(changes));
    saving = saved.catch(() => {});
    return saved;
  };
  const timer = setInterval(() => {
    save().catch((error: unknown) => log.warn('checkpoint not saved', { error: String(error) }));
  }, settings.checkpointIntervalMs);

  // The budget is honoured once this invocation has got past a row (sent or skipped), so that
  // every link of a chain makes progress whatever its budget (the check of the file may have
  // used it up); the row where it stops is left for the continuation.
  let stopped = false;
  const shouldStop = (row: number) => (stopped ||= leaseLost || (budget?.aborted === true && row > startRow + 1));
  const file = { bucket: run.bucket, file: task.file, columns: task.columns };
  async function* objects(): AsyncGenerator<InventoryObject[]> {
    const { etag } = checkpoint.verified ?? {};
    const selection = {
      fields: context.config.messageFields,
      ...(task.changedSince !== undefined && { changedSince: new Date(task.changedSince) }),
      ...(task.shard?.lastRow !== undefined && { lastRow: task.shard.lastRow }),
    };
    for await (const batch of readInventoryFile(s3, file, stats, { startRow, position, shouldStop, ...selection, ...(etag && { etag }) })) {
      for (const object of batch) watermark.sent(object.row);
      yield batch;
    }
    watermark.consumedThrough(position.row);
    endOfFile = !stopped;
  }

  let failure: unknown;
  let shards: PartTask[] | undefined;
  try {
    // No row is published before the file's size and MD5 matched the manifest: once per part,
    // by its first task, which also splits a big file into shards (never one partly published).
    if (!checkpoint.verified) await save({ verified: await verifyDataFile(s3, file, stats) });
    const { verified } = checkpoint;
    if (!task.shard && verified && checkpoint.rowsDone === 0) shards = shardTasks(task, verified, settings.shardRows);
    if (shards) await queueTasks(context.work, settings.workQueueUrl, shards);
    else if (!leaseLost) {
      await publishAll(objects(), context, stats, (object, done) => (done ? watermark.settled(object.row) : watermark.failed(object.row)));
    }
  } catch (error) {
    failure = error;
  } finally {
    clearInterval(timer);
    metrics?.end();
    await saving;
  }
  const publishedNow = stats.published - publishedBefore;

  if (leaseLost) return skipped('another worker took the part over');
  if (failure !== undefined || stats.failed > 0) {
    const problem =
      failure instanceof Error
        ? failure.message
        : `${stats.failed} keys could not be published, first "${stats.failedKeys[0]?.key}": ${stats.failedKeys[0]?.reason}`;
    // Releasing the lease lets the retry of this task start at once; the error is what matters.
    await save({ lastError: problem, owner: '' }).catch(() => false);
    throw new RunFailedError(
      `part ${task.part}${shard === undefined ? '' : ` shard ${shard}`} of ${formatS3Uri(task.manifest)} stopped at row ${watermark.rowsDone}: ${problem}`,
      stats.counters(),
      {
        cause: failure,
      },
    );
  }

  if (shards) {
    // A crash before this save queues the shards again when the task is redelivered: the copies
    // find each shard's lease taken or its result written, and are skipped.
    await save({ shards: shards.length, handedOver: true });
    log.info('part split into shards', { ...which, rows: checkpoint.verified?.rows, shards: shards.length });
    return { status: 'split', ...which, shards: shards.length };
  }

  if (endOfFile) {
    const result: WorkResult = {
      status: 'done',
      rowsDone: watermark.rowsDone,
      // Every row of the range, once, however often a crash made workers read some of them again.
      counters: { ...stats.counters(), rowsRead: Math.max(0, watermark.rowsDone - (task.shard?.firstRow ?? 0)) },
      continuations: checkpoint.continuations,
      startedAt: checkpoint.startedAt,
      endedAt: new Date().toISOString(),
    };
    await save();
    await recordResult(s3, task, result, log);
    log.info(shard === undefined ? 'part done' : 'shard done', {
      ...which,
      rowsDone: result.rowsDone,
      published: result.counters.published,
      continuations: result.continuations,
    });
    const outcome: InvocationOutcome = { partsFinished: 1 };
    const report = await completeRunIfFinished(s3, task, log, (written) => {
      outcome.runDurationSeconds = (Date.parse(written.endedAt) - Date.parse(written.startedAt)) / 1000;
    });
    metrics?.record(outcome);
    return { status: 'done', ...which, rowsDone: result.rowsDone, published: publishedNow, ...(report && { report }) };
  }

  // Out of time: queue the rest first, then hand over. A crash in between leaves both tasks
  // alive; the later sequence wins the lease, and nothing is skipped.
  const rowsDone = watermark.rowsDone;
  await queueTasks(context.work, settings.workQueueUrl, [{ ...task, startRow: rowsDone, sequence: task.sequence + 1 }]);
  await save({ handedOver: true, continuations: checkpoint.continuations + 1 });
  log.info('part continues in a new task', { ...which, next: task.sequence + 1, rowsDone });
  metrics?.record({ continuations: 1 });
  return { status: 'continued', ...which, rowsDone, published: publishedNow };
}

/**
 * Takes the part's lease: creates its checkpoint, or takes it over when it belongs to an earlier
 * link of the chain, to this same task (a retry), to nobody, or to a worker silent for longer than
 * the lease. Returns why not otherwise.
 */
async function takePart(
  { s3, settings }: WorkerContext,
  run: RunFolder,
  task: PartTask,
  owner: string,
): Promise<{ checkpoint: PartCheckpoint; etag: string } | string> {
  const key = checkpointKey(run, task.part, task.shard?.index);
  const now = new Date().toISOString();
  const existing = await getJson<PartCheckpoint>(s3, run.bucket, key);
  if (!existing) {
    const checkpoint: PartCheckpoint = {
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
    };
    const etag = await putJson(s3, run.bucket, key, checkpoint, { ifNoneMatch: '*' });
    return etag === undefined ? 'another worker started the part at the same moment' : { checkpoint, etag };
  }
  const current = existing.value;
  if (current.shards !== undefined) return `the part was split into ${current.shards} shards`;
  if (current.sequence > task.sequence) return `superseded by continuation ${current.sequence}`;
  if (current.sequence === task.sequence && current.handedOver) return 'the part was handed over to a continuation';
  const silentFor = Date.now() - Date.parse(current.updatedAt);
  const free = current.owner === '' || current.owner === owner || current.sequence < task.sequence || silentFor > settings.leaseMs;
  if (!free) return `another worker holds the part (checkpoint saved ${Math.round(silentFor / 1000)} s ago)`;
  const checkpoint: PartCheckpoint = { ...current, owner, sequence: task.sequence, handedOver: false, updatedAt: now };
  delete checkpoint.lastError;
  const etag = await putJson(s3, run.bucket, key, checkpoint, { ifMatch: existing.etag });
  return etag === undefined ? 'another worker took the part at the same moment' : { checkpoint, etag };
}
