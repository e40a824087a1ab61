import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Event } from 'aws-lambda';
import { createAwsClients } from './aws-clients.ts';
import { emulatorEnvironment, startEmulator } from './emulator.ts';
import type { BackfillEvent } from './backfill-event.ts';
import type { BackfillSummary } from './backfill-job.ts';
import type { InventorySummary } from './inventory-job.ts';
import { writeInventoryReport } from './inventory-writer.ts';
import { objectCreatedEvent } from './s3-event.ts';
import { sampleInventoryRows, seedBucket } from './sample-objects.ts';

export type DemoMode = 'inventory' | 'backfill';

/** The Lambda handlers, called in this process as Lambda would call them. */
export interface DemoHandlers {
  inventory: (event: S3Event) => Promise<{ reports: InventorySummary[] }>;
  backfill: (event: BackfillEvent) => Promise<BackfillSummary>;
}

export interface LocalDemoOptions {
  objects: number;
  /** Inventory mode: data files of the report. */
  files: number;
  mode: DemoMode;
  handlers: DemoHandlers;
  onStep?: (step: string) => void;
}

export interface LocalDemoResult {
  mode: DemoMode;
  objects: number;
  published: number;
  queueDepth: number;
  /** How long the handler took, from event to last message. */
  durationMs: number;
  messagesPerSecond: number;
  /** Peak resident memory of this process, the emulator's thread and its stored objects included. */
  peakRssMb: number;
  /** Peak JavaScript heap of this thread while the handler ran: the pipeline's own memory. */
  pipelineHeapPeakMb: number;
  /** What the handler returned. */
  summary: InventorySummary | BackfillSummary;
}

export const DEMO = {
  sourceBucket: 'demo-source',
  inventoryBucket: 'demo-inventory',
  inventoryPrefix: 'inventory',
  configId: 'daily',
  queueName: 'demo-objects.fifo',
} as const;

/**
 * The whole path on a laptop: an in-process emulator, a bucket of sample objects, then either its
 * inventory report in S3's layout and the S3 event delivered to the inventory handler, or the
 * backfill handler invoked on the bucket; finally the queue's depth. Points this process's AWS SDK
 * at the emulator through `AWS_ENDPOINT_URL`.
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

    step(`writing ${options.objects} sample objects to s3://${DEMO.sourceBucket}`);
    await seedBucket(s3, DEMO.sourceBucket, { count: options.objects });

    const { value: summary, durationMs, heapPeakBytes } = await runHandler(s3, options);
    return {
      mode: options.mode,
      objects: options.objects,
      published: summary.published,
      queueDepth: await queueDepth(sqs, queueUrl),
      durationMs,
      messagesPerSecond: Math.round(summary.published / (durationMs / 1000)),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      pipelineHeapPeakMb: Math.round(heapPeakBytes / 2 ** 20),
      summary,
    };
  } finally {
    await emulator.stop();
  }
}

/**
 * Inventory mode: writes the report, then delivers its event. Backfill: invokes the backfill.
 * Only the handler's call is measured.
 */
async function runHandler(s3: S3Client, options: LocalDemoOptions): Promise<Measured<InventorySummary | BackfillSummary>> {
  const step = options.onStep ?? (() => {});
  if (options.mode === 'backfill') {
    step(`invoking the backfill of s3://${DEMO.sourceBucket}`);
    return measure(() => options.handlers.backfill({ bucket: DEMO.sourceBucket }));
  }
  step(`writing the inventory report (${options.files} data files)`);
  const report = await writeInventoryReport(s3, {
    sourceBucket: DEMO.sourceBucket,
    destinationBucket: DEMO.inventoryBucket,
    prefix: DEMO.inventoryPrefix,
    configId: DEMO.configId,
    rows: sampleInventoryRows(options.objects),
    rowsPerFile: Math.max(1, Math.ceil(options.objects / options.files)),
  });
  step(`delivering the S3 event for s3://${report.manifest.bucket}/${report.manifest.key}`);
  return measure(async () => {
    const { reports } = await options.handlers.inventory(objectCreatedEvent(report.manifest, 0));
    if (!reports[0]) throw new Error('the inventory handler returned no report summary');
    return reports[0];
  });
}

async function createBuckets(s3: S3Client): Promise<void> {
  for (const bucket of [DEMO.sourceBucket, DEMO.inventoryBucket]) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** A FIFO queue in high-throughput mode, as the stack creates by default. */
export async function createFifoQueue(sqs: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
    }),
  );
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
  return QueueUrl;
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
