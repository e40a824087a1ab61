import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import PQueue from 'p-queue';
import { InvalidArgumentError } from '../core/errors.ts';
import { DEFAULT_BACKOFF, waitBeforeRetry } from '../core/retry.ts';
import { type ColumnPositions, INVENTORY_FORMATS, type InventoryFormat, type ManifestFile } from '../inventory/manifest.ts';
import type { VerifiedFile } from '../inventory/data-file.ts';
import type { S3Location } from '../core/types.ts';
import { checkRangeTask, type RangeTask } from './range-task.ts';
import { type RunFolder, runFolder } from './state.ts';

/** One message of the work queue: publish one data file of a report, from `startRow` on. */
export interface PartTask {
  manifest: S3Location;
  /** Where the run's state lives; tasks queued before it was said are read with it beside the manifest. */
  run: RunFolder;
  sourceBucket: string;
  part: number;
  parts: number;
  file: ManifestFile;
  columns: ColumnPositions;
  /** The report's format; absent on tasks queued before there were others: CSV. */
  format?: InventoryFormat;
  /** Rows done when the task was queued. */
  startRow: number;
  /** 0 for the task of the fan-out, then one more for each continuation. */
  sequence: number;
  /** `changed` mode: only objects modified at or after this time (ISO 8601) are published. */
  changedSince?: string;
  /** `missed` mode: the run's compacted live record (a key of the run's bucket): rows it holds are skipped. */
  liveRecord?: string;
  /** Set when the data file was split: the task publishes this range of its rows only. */
  shard?: ShardRange;
}

/** One of the row ranges a data file was split into, published by tasks of its own. */
export interface ShardRange {
  index: number;
  count: number;
  /** Rows of the file before the shard. */
  firstRow: number;
  /** The shard's last row; absent on the last shard, which reads to the end of the file. */
  lastRow?: number;
  /** What the check of the whole file found, before it was split: shards do not check it again. */
  verified: VerifiedFile;
}

/** What the work queue carries: a report's data file (or a shard of one), or a backfill's key range. */
export type WorkTask = PartTask | RangeTask;

/** Validates a work-queue message body; a malformed one is a bug or a stray message. */
export function parseWorkTask(body: string): WorkTask {
  let task: WorkTask;
  try {
    task = JSON.parse(body) as WorkTask;
  } catch (error) {
    throw new InvalidArgumentError(`work task is not JSON: ${(error as Error).message}`);
  }
  return (task as Partial<RangeTask> | null)?.kind === 'range'
    ? checkRangeTask(task as RangeTask, body)
    : checkPartTask(task as PartTask, body);
}

function checkPartTask(task: PartTask, body: string): PartTask {
  const integer = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
  if (
    typeof task?.manifest?.bucket !== 'string' ||
    typeof task.manifest.key !== 'string' ||
    typeof task.sourceBucket !== 'string' ||
    !integer(task.part) ||
    !integer(task.parts) ||
    typeof task.file?.key !== 'string' ||
    !integer(task.file.size) ||
    typeof task.file.md5 !== 'string' ||
    !integer(task.columns?.key) ||
    !integer(task.columns.bucket) ||
    !integer(task.columns.count) ||
    !integer(task.startRow) ||
    !integer(task.sequence) ||
    (task.changedSince !== undefined && Number.isNaN(Date.parse(task.changedSince))) ||
    (task.liveRecord !== undefined && typeof task.liveRecord !== 'string') ||
    (task.format !== undefined && !INVENTORY_FORMATS.includes(task.format)) ||
    (task.shard !== undefined && !isShardRange(task.shard, integer)) ||
    (task.run !== undefined && (typeof task.run?.bucket !== 'string' || typeof task.run.prefix !== 'string'))
  ) {
    throw new InvalidArgumentError(`work task is not a part task: ${body.slice(0, 500)}`);
  }
  task.run ??= runFolder(task.manifest);
  return task;
}

function isShardRange(shard: ShardRange, integer: (value: unknown) => boolean): boolean {
  return (
    integer(shard?.index) &&
    integer(shard.count) &&
    shard.index < shard.count &&
    integer(shard.firstRow) &&
    // Only the last shard, and always it, reads to the end of the file: no row is left out.
    (shard.index === shard.count - 1
      ? shard.lastRow === undefined
      : integer(shard.lastRow) && (shard.lastRow as number) > shard.firstRow) &&
    integer(shard.verified?.rows) &&
    (shard.verified.etag === undefined || typeof shard.verified.etag === 'string')
  );
}

/** SendMessageBatch calls in flight while tasks are queued, and attempts per entry SQS did not take. */
const BATCHES_IN_FLIGHT = 16;
const ENTRY_ATTEMPTS = 5;

/**
 * Queues tasks in SendMessageBatch calls of ten, a bounded number at once, taking them from the
 * iterable as calls free up: a fan-out of a million tasks holds a few hundred in memory. Entries
 * SQS did not take are sent again (the client retries whole calls); one still refused fails it.
 */
export async function queueTasks(sqs: SQSClient, queueUrl: string, tasks: Iterable<WorkTask>): Promise<void> {
  const queue = new PQueue({ concurrency: BATCHES_IN_FLIGHT });
  let failure: unknown;
  let batch: WorkTask[] = [];
  const send = async (entries: WorkTask[]) => {
    await queue.onSizeLessThan(BATCHES_IN_FLIGHT);
    queue.add(() => sendBatch(sqs, queueUrl, entries)).catch((error: unknown) => (failure ??= error));
  };
  for (const task of tasks) {
    if (failure !== undefined) break;
    batch.push(task);
    if (batch.length === 10) {
      await send(batch);
      batch = [];
    }
  }
  if (batch.length > 0 && failure === undefined) await send(batch);
  await queue.onIdle();
  if (failure !== undefined) throw failure;
}

async function sendBatch(sqs: SQSClient, queueUrl: string, tasks: WorkTask[]): Promise<void> {
  let entries = tasks.map((task, index) => ({ Id: String(index), MessageBody: JSON.stringify(task) }));
  for (let attempt = 1; ; attempt += 1) {
    const { Failed = [] } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (Failed.length === 0) return;
    if (attempt >= ENTRY_ATTEMPTS) {
      throw new Error(`${Failed.length} tasks were not queued on ${queueUrl}: ${Failed[0]?.Code}: ${Failed[0]?.Message ?? ''}`);
    }
    const failed = new Set(Failed.map((entry) => entry.Id));
    entries = entries.filter((entry) => failed.has(entry.Id));
    await waitBeforeRetry(attempt, DEFAULT_BACKOFF);
  }
}
