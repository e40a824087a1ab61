import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import PQueue from 'p-queue';
import { InvalidArgumentError } from '../core/errors.ts';
import { type ColumnPositions, INVENTORY_FORMATS, type InventoryFormat, type ManifestFile } from '../inventory/manifest.ts';
import type { VerifiedFile } from '../inventory/data-file.ts';
import type { S3Location } from '../core/types.ts';
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

/** Validates a work-queue message body; a malformed one is a bug or a stray message. */
export function parsePartTask(body: string): PartTask {
  let task: PartTask;
  try {
    task = JSON.parse(body) as PartTask;
  } catch (error) {
    throw new InvalidArgumentError(`work task is not JSON: ${(error as Error).message}`);
  }
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

/** Queues tasks, a bounded number of SendMessage calls at once (the client retries each). */
export async function queueTasks(sqs: SQSClient, queueUrl: string, tasks: PartTask[]): Promise<void> {
  const queue = new PQueue({ concurrency: 16 });
  await Promise.all(
    tasks.map((task) => queue.add(() => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(task) })))),
  );
}
