import { SQSClient } from '@aws-sdk/client-sqs';
import { startInventoryRun, type FanOutSummary } from '../../lib/run/fan-out.ts';
import { createWorkQueue } from '../../lib/local/demo.ts';
import { writeInventoryReport } from '../../lib/local/report-writer.ts';
import { runWorkersUntilReport } from '../../lib/local/event-source.ts';
import { recordDeadLetters } from '../../lib/run/part-failure.ts';
import { runTaskBatch } from '../../lib/run/part-worker.ts';
import { parseWorkTask, type PartTask } from '../../lib/run/part-task.ts';
import type { PipelineConfig, Selection } from '../../lib/core/config.ts';

import type { RunStateStore } from '../../lib/run/state.ts';
import type { LiveRecordStore } from '../../lib/live/live-window.ts';
import type { Log, S3Location } from '../../lib/core/types.ts';
import { silentLog, type TestEmulator } from './emulator.ts';
import type { RunReport, WorkerContext } from '../../lib/run/types.ts';

let reportsWritten = 0;

/** A work-queue body that must be a report's part task (not a backfill's range). */
export function partTaskOf(body: string): PartTask {
  const task = parseWorkTask(body);
  if ('kind' in task) throw new Error(`work task is not a part task: ${body.slice(0, 500)}`);
  return task;
}

/** A report listing `keys` in order, in `files` data files, under a configuration of its own. */
export async function keysReport(
  aws: TestEmulator,
  { inventoryBucket, sourceBucket, keys, files = 1 }: { inventoryBucket: string; sourceBucket: string; keys: string[]; files?: number },
): Promise<S3Location> {
  const written = await writeInventoryReport(aws.s3, {
    sourceBucket,
    destinationBucket: inventoryBucket,
    prefix: 'inventory',
    configId: `config-${(reportsWritten += 1)}`,
    rows: keys.map((key) => ({ key, size: 1, lastModified: new Date(), etag: 'e' })),
    rowsPerFile: Math.ceil(keys.length / files),
  });
  return written.manifest;
}

export interface WorkQueues {
  workQueueUrl: string;
  deadLetterQueueUrl: string;
  work: SQSClient;
}

/** A work queue whose tasks go to a dead-letter queue after `maxReceiveCount` deliveries. */
export async function createWorkQueues(aws: TestEmulator, name: string, maxReceiveCount = 2): Promise<WorkQueues> {
  const queues = await createWorkQueue(aws.sqs, name, maxReceiveCount);
  return { ...queues, work: new SQSClient({ endpoint: aws.emulator.endpoint, maxAttempts: 6 }) };
}

export interface RunOptions {
  workers: number;
  budgetMs: number;
  /** Where the workers' S3 and SQS calls go: the emulator, or a proxy before it. */
  endpoint?: string;
  checkpointIntervalMs?: number;
  /** Data files of more rows are split into shards (none by default). */
  shardRows?: number;
  config?: Partial<PipelineConfig>;
  /** The workers' log (silent by default). */
  log?: Log;
  /** What the fan-out publishes (everything by default). */
  selection?: Selection;
  /** Where runs of reports in other buckets keep their state (beside the report by default). */
  stateStore?: RunStateStore;
  /** `missed` mode: where the live path's records are. */
  liveRecords?: LiveRecordStore;
}

export function workerContext(
  aws: TestEmulator,
  queues: WorkQueues,
  targetQueueUrl: string,
  options: Omit<RunOptions, 'workers' | 'budgetMs'>,
): WorkerContext {
  return {
    ...aws.context(targetQueueUrl, options.config, options.endpoint),
    ...(options.log && { log: options.log }),
    work: queues.work,
    settings: {
      workQueueUrl: queues.workQueueUrl,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 20,
      leaseMs: 2_000,
      shardRows: options.shardRows ?? Number.MAX_SAFE_INTEGER,
    },
  };
}

/** The fan-out, then workers and the dead-letter function as Lambda would run them, to the report. */
export async function runReport(
  aws: TestEmulator,
  queues: WorkQueues,
  manifest: S3Location,
  targetQueueUrl: string,
  options: RunOptions,
): Promise<{ fanOut: FanOutSummary; report: RunReport }> {
  const fanOut = await startInventoryRun(manifest, {
    s3: aws.s3,
    ...queues,
    log: silentLog,
    deadline: Date.now() + 60_000,
    ...(options.selection && { selection: options.selection }),
    ...(options.stateStore && { stateStore: options.stateStore }),
    ...(options.liveRecords && { liveRecords: options.liveRecords }),
  });
  return { fanOut, report: await workUntilReport(aws, queues, manifest, workerContext(aws, queues, targetQueueUrl, options), options) };
}

/** Workers and the dead-letter function take the tasks of the work queue until the run has its report. */
export function workUntilReport(
  aws: TestEmulator,
  queues: WorkQueues,
  manifest: S3Location,
  context: WorkerContext,
  options: Pick<RunOptions, 'workers' | 'budgetMs' | 'stateStore' | 'selection'>,
): Promise<RunReport> {
  return runWorkersUntilReport({
    s3: aws.s3,
    sqs: aws.sqs,
    manifest,
    ...(options.selection?.dryRun && { dryRun: true }),
    ...(options.stateStore && { stateStore: options.stateStore }),
    ...queues,
    workers: options.workers,
    worker: (event) => runTaskBatch(event, context, () => options.budgetMs),
    deadLetter: (event) => recordDeadLetters(event, aws.s3, silentLog),
    retryDelaySeconds: 0,
    log: silentLog,
  });
}
