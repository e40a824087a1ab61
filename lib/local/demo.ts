import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createAwsClients } from '../core/aws-clients.ts';
import type { BackfillEvent } from '../backfill/event.ts';
import type { BackfillSummary } from '../backfill/job.ts';
import { emulatorEnvironment, startEmulator } from './emulator.ts';
import type { FanOutSummary } from '../run/fan-out.ts';
import { writeInventoryReport, type WrittenReport } from './report-writer.ts';
import { runWorkersUntilReport } from './event-source.ts';
import type { RunReport } from '../run/report.ts';
import { objectCreatedEvent } from '../inventory/s3-event.ts';
import { sampleInventoryRows, seedBucket } from './sample-objects.ts';
import type { Log } from '../core/types.ts';

export type DemoMode = 'inventory' | 'backfill';

/** The Lambda handlers, called in this process as Lambda would call them. */
export interface DemoHandlers {
  inventory: (event: S3Event) => Promise<{ runs: FanOutSummary[] }>;
  worker: (event: SQSEvent) => Promise<SQSBatchResponse>;
  deadLetter: (event: SQSEvent) => Promise<void>;
  backfill: (event: BackfillEvent) => Promise<BackfillSummary>;
}

export interface LocalDemoOptions {
  objects: number;
  /** Inventory mode: data files of the report, each one part for a worker. */
  files: number;
  /** Inventory mode: worker invocations at once. */
  workers: number;
  /** Inventory mode: each worker invocation stops after this long and queues the rest. */
  timeBudgetMs?: number;
  mode: DemoMode;
  handlers: DemoHandlers;
  log: Log;
  onStep?: (step: string) => void;
  /** A live line while the workers publish (the queue's depth), for a terminal. */
  onProgress?: (line: string) => void;
}

export interface LocalDemoResult {
  mode: DemoMode;
  objects: number;
  published: number;
  queueDepth: number;
  /** From the handler's first invocation to the last message. */
  durationMs: number;
  messagesPerSecond: number;
  /** Peak resident memory of this process, the emulator's thread and its stored objects included. */
  peakRssMb: number;
  /** Peak JavaScript heap of this thread while the handlers ran: the pipeline's own memory. */
  pipelineHeapPeakMb: number;
  /** Inventory mode: parts, continuations and totals of the run's report. */
  parts?: number;
  continuations?: number;
  /** What the run produced: the inventory run's report, or the backfill's summary. */
  summary: RunReport | BackfillSummary;
}

export const DEMO = {
  sourceBucket: 'demo-source',
  inventoryBucket: 'demo-inventory',
  inventoryPrefix: 'inventory',
  configId: 'daily',
  queueName: 'demo-objects.fifo',
  workQueueName: 'demo-work',
  /** Deliveries of a task before it goes to the dead-letter queue, as in the stack. */
  maxReceiveCount: 3,
} as const;

/**
 * The whole path on a laptop: an in-process emulator, a bucket of sample objects, then either its
 * inventory report in S3's layout, the S3 event delivered to the inventory handler and the work
 * queue drained by workers invoked as Lambda's event source mapping would, or the backfill handler
 * invoked on the bucket; finally the queue's depth. Points this process's AWS SDK at the emulator
 * through `AWS_ENDPOINT_URL`.
 */
export async function runLocalDemo(options: LocalDemoOptions): Promise<LocalDemoResult> {
  const step = options.onStep ?? (() => {});
  const emulator = await startEmulator();
  try {
    Object.assign(process.env, emulatorEnvironment(emulator.endpoint));
    const { s3, sqs } = createAwsClients({ concurrency: 32, endpointUrl: emulator.endpoint });
    await createBuckets(s3);
    const queueUrl = await createFifoQueue(sqs, DEMO.queueName);
    process.env.QUEUE_URL = queueUrl;

    await seedBucket(s3, DEMO.sourceBucket, { count: options.objects });
    step(`The emulator runs on ${emulator.endpoint}; s3://${DEMO.sourceBucket} holds ${options.objects} objects named <sha256>.<ext>.`);

    const measured =
      options.mode === 'backfill'
        ? await measure(() => {
            step(`Invoking the backfill function on s3://${DEMO.sourceBucket}: 17 key ranges listed at once.`);
            return options.handlers.backfill({ bucket: DEMO.sourceBucket });
          })
        : await runInventory(s3, sqs, options);
    const { value: summary, durationMs, heapPeakBytes } = measured;
    const published = 'totals' in summary ? summary.totals.published : summary.published;
    return {
      mode: options.mode,
      objects: options.objects,
      published,
      queueDepth: await queueDepth(sqs, queueUrl),
      durationMs,
      messagesPerSecond: Math.round(published / (durationMs / 1000)),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      pipelineHeapPeakMb: Math.round(heapPeakBytes / 2 ** 20),
      ...('totals' in summary && { parts: summary.parts, continuations: summary.totals.continuations }),
      summary,
    };
  } finally {
    await emulator.stop();
  }
}

/** Writes the report, delivers its event, and runs the workers until the run's report exists. */
async function runInventory(s3: S3Client, sqs: SQSClient, options: LocalDemoOptions): Promise<Measured<RunReport>> {
  const step = options.onStep ?? (() => {});
  const { workQueueUrl, deadLetterQueueUrl } = await createWorkQueue(sqs, DEMO.workQueueName, DEMO.maxReceiveCount);
  process.env.WORK_QUEUE_URL = workQueueUrl;
  if (options.timeBudgetMs !== undefined) process.env.TIME_BUDGET_MS = String(options.timeBudgetMs);

  const report = await writeDemoReport(s3, options.objects, options.files);
  step(`S3 Inventory's report of it is written: ${options.files} gzipped CSV data files and s3://${report.manifest.bucket}/${report.manifest.key}.`);

  return measure(async () => {
    const { runs } = await options.handlers.inventory(objectCreatedEvent(report.manifest, 0));
    step(`The S3 event reached the inventory function: it claimed the report and queued ${runs[0]?.parts ?? 0} part tasks.`);
    step(`${options.workers} worker invocations at a time publish the parts${options.timeBudgetMs ? `, each stopping after ${options.timeBudgetMs} ms` : ''}.`);
    const ticker = options.onProgress && setInterval(async () => options.onProgress?.(`  ${await queueDepth(sqs, process.env.QUEUE_URL ?? '')} messages in the queue…`), 250);
    const done = await runWorkersUntilReport({
      s3,
      sqs,
      manifest: report.manifest,
      workQueueUrl,
      deadLetterQueueUrl,
      workers: options.workers,
      worker: options.handlers.worker,
      deadLetter: options.handlers.deadLetter,
      log: options.log,
    }).finally(() => clearInterval(ticker));
    const { totals } = done;
    step(`The run's report.json: ${done.status}, ${totals.published} published, ${totals.failed} failed, ${totals.continuations} continuations.`);
    return done;
  });
}

/** The inventory report of the demo bucket's sample objects, in S3's layout and format. */
export function writeDemoReport(s3: S3Client, objects: number, files: number): Promise<WrittenReport> {
  return writeInventoryReport(s3, {
    sourceBucket: DEMO.sourceBucket,
    destinationBucket: DEMO.inventoryBucket,
    prefix: DEMO.inventoryPrefix,
    configId: DEMO.configId,
    rows: sampleInventoryRows(objects),
    rowsPerFile: Math.max(1, Math.ceil(objects / files)),
  });
}

async function createBuckets(s3: S3Client): Promise<void> {
  for (const bucket of [DEMO.sourceBucket, DEMO.inventoryBucket]) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

export async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
  return QueueUrl;
}

/** A FIFO queue in high-throughput mode, as the stack creates by default. */
export function createFifoQueue(sqs: SQSClient, name: string): Promise<string> {
  return createQueue(sqs, name, { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
}

/** A work queue whose tasks move to `<name>-dead-letter` after `maxReceiveCount` deliveries, as in the stack. */
export async function createWorkQueue(
  sqs: SQSClient,
  name: string,
  maxReceiveCount: number,
): Promise<{ workQueueUrl: string; deadLetterQueueUrl: string }> {
  const deadLetterQueueUrl = await createQueue(sqs, `${name}-dead-letter`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'] }));
  const workQueueUrl = await createQueue(sqs, name, {
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount }),
  });
  return { workQueueUrl, deadLetterQueueUrl };
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

interface Measured<T> {
  value: T;
  durationMs: number;
  /** Peak of this thread's heap, sampled while `run` ran: what the pipeline held at once. */
  heapPeakBytes: number;
}

async function measure<T>(run: () => Promise<T>): Promise<Measured<T>> {
  let heapPeakBytes = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    heapPeakBytes = Math.max(heapPeakBytes, process.memoryUsage().heapUsed);
  }, 20);
  const started = performance.now();
  try {
    const value = await run();
    return { value, durationMs: Math.round(performance.now() - started), heapPeakBytes };
  } finally {
    clearInterval(sampler);
  }
}
