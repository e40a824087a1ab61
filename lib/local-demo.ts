import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Event } from 'aws-lambda';
import { createAwsClients } from './aws-clients.ts';
import { emulatorEnvironment, startEmulator } from './emulator.ts';
import type { InventorySummary } from './inventory-job.ts';
import { writeInventoryReport } from './inventory-writer.ts';
import { objectCreatedEvent } from './s3-event.ts';
import { sampleInventoryRows, seedBucket } from './sample-objects.ts';

export interface LocalDemoOptions {
  objects: number;
  files: number;
  /** The inventory handler, given the event S3 would send it. */
  deliver: (event: S3Event) => Promise<{ reports: InventorySummary[] }>;
  onStep?: (step: string) => void;
}

export interface LocalDemoResult {
  objects: number;
  files: number;
  published: number;
  queueDepth: number;
  /** How long the handler took, from event to last message. */
  durationMs: number;
  messagesPerSecond: number;
  /** Peak resident memory of this process, the emulator's thread and its stored objects included. */
  peakRssMb: number;
  /** Peak JavaScript heap of this thread while the handler ran: the pipeline's own memory. */
  pipelineHeapPeakMb: number;
  report: InventorySummary;
}

export const DEMO = {
  sourceBucket: 'demo-source',
  inventoryBucket: 'demo-inventory',
  inventoryPrefix: 'inventory',
  configId: 'daily',
  queueName: 'demo-objects.fifo',
} as const;

/**
 * The whole inventory path on a laptop: an in-process emulator, a bucket of sample objects, its
 * inventory report in S3's layout, the S3 event delivered to the handler, and the queue's depth.
 * Points this process's AWS SDK at the emulator through `AWS_ENDPOINT_URL`.
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
    const heap = new HeapPeak();
    const started = performance.now();
    const { reports } = await options.deliver(objectCreatedEvent(report.manifest, 0)).finally(() => heap.stop());
    const durationMs = Math.round(performance.now() - started);
    const summary = reports[0];
    if (!summary) throw new Error('the inventory handler returned no report summary');

    return {
      objects: options.objects,
      files: report.files.length,
      published: summary.published,
      queueDepth: await queueDepth(sqs, queueUrl),
      durationMs,
      messagesPerSecond: Math.round(summary.published / (durationMs / 1000)),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      pipelineHeapPeakMb: Math.round(heap.peakBytes / 2 ** 20),
      report: summary,
    };
  } finally {
    await emulator.stop();
  }
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

/** Samples this thread's heap while work runs; the peak bounds what the pipeline held at once. */
class HeapPeak {
  peakBytes = process.memoryUsage().heapUsed;
  readonly #timer = setInterval(() => {
    this.peakBytes = Math.max(this.peakBytes, process.memoryUsage().heapUsed);
  }, 20);

  stop(): void {
    clearInterval(this.#timer);
  }
}
