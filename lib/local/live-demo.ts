import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type Message, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import PQueue from 'p-queue';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventBridgeObjectCreated } from '../inventory/s3-event.ts';
import { percentile } from '../live/live-publish.ts';
import type { RunReport } from '../run/types.ts';
import { runBatchingEventSource } from './batching-event-source.ts';
import { drainQueue } from './queue-drain.ts';
import type { InventoryRow } from './report-writer.ts';
import { sampleObject } from './sample-objects.ts';

export interface LiveDemoOptions {
  s3: S3Client;
  sqs: SQSClient;
  sourceBucket: string;
  /** The target queue the handlers publish to. */
  queueUrl: string;
  objects: number;
  /** Events not delivered, on purpose: the next report's run must publish exactly these. */
  dropEvents: number;
  /** Over how long the objects are written. */
  writeMs: number;
  /** The live function's batching window. */
  windowMs: number;
  live: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Writes the report of `rows` scanned at `createdAt` and runs it as the stack would, to its report. */
  runReport: (rows: InventoryRow[], createdAt: Date) => Promise<RunReport>;
  step: (line: string) => void;
}

export interface LiveDemoResult {
  livePublished: number;
  /** From each object's write to its message's send (SQS's SentTimestamp), ms. */
  liveLagMsP50: number;
  liveLagMsP99: number;
  dropped: number;
  reportPublished: number;
  /** Messages in the queue at the end, and those that repeat a key. */
  queueDepth: number;
  duplicates: number;
  report: RunReport;
}

/** The reasons S3 gives for an object created, in turn. */
const REASONS = ['PutObject', 'CopyObject', 'CompleteMultipartUpload'] as const;

/**
 * Live publishing with the report as its safety net, on the emulator: the day before, a report of
 * the empty bucket is run (the baseline); then objects are written over `writeMs` and, for each,
 * S3's "Object Created" event goes to the live buffer queue as EventBridge delivers it (by
 * PutObject, CopyObject or CompleteMultipartUpload), except `dropEvents` of them, dropped on
 * purpose; the live function takes them in batches gathered for `windowMs`. Then the next day's
 * report is run in `missed` mode: it must publish exactly the objects whose events were dropped.
 */
export async function runLiveDemo(options: LiveDemoOptions): Promise<LiveDemoResult> {
  const { sqs, step } = options;
  await options.runReport([], new Date(Date.now() - 3_600_000));
  step(`Day 1: the report of the empty bucket ran; live publishing is on (batching window ${options.windowMs} ms).`);
  const buffer = (await sqs.send(new CreateQueueCommand({ QueueName: 'demo-live-buffer' }))).QueueUrl as string;
  const stop = new AbortController();
  const source = runBatchingEventSource({
    sqs,
    queueUrl: buffer,
    batchSize: 10_000,
    windowMs: options.windowMs,
    handler: (records) => options.live({ Records: records }),
    signal: stop.signal,
  });
  const written = await writeObjects(options, buffer);
  step(`${options.objects} objects written over ${options.writeMs} ms; ${options.dropEvents} of their events dropped on purpose.`);
  await untilEmpty(sqs, buffer);
  stop.abort();
  await source;
  const reportStarted = Date.now();
  const report = await options.runReport(written.rows, new Date());
  step(
    `Day 2: the report's run in missed mode published ${report.totals.published}, skipped ${report.totals.skippedByReason.publishedLive ?? 0} published live.`,
  );
  const messages = await drainWithTimes(sqs, options.queueUrl);
  const live = messages.filter((message) => message.sentAt < reportStarted);
  const lags = live.map((message) => message.sentAt - (written.writtenAt.get(message.key) ?? message.sentAt)).sort((a, b) => a - b);
  return {
    livePublished: live.length,
    liveLagMsP50: percentile(lags, 0.5),
    liveLagMsP99: percentile(lags, 0.99),
    dropped: options.dropEvents,
    reportPublished: report.totals.published,
    queueDepth: messages.length,
    duplicates: messages.length - new Set(messages.map((message) => message.key)).size,
    report,
  };
}

/** Writes the objects at an even pace, each event sent to the buffer as soon as its object is written (but the dropped ones). */
async function writeObjects(options: LiveDemoOptions, buffer: string): Promise<{ rows: InventoryRow[]; writtenAt: Map<string, number> }> {
  const rows: InventoryRow[] = [];
  const writtenAt = new Map<string, number>();
  const dropped = new Set(
    Array.from({ length: options.dropEvents }, (_, index) => Math.floor((index * options.objects) / options.dropEvents)),
  );
  const queue = new PQueue({ concurrency: 16 });
  const started = Date.now();
  for (let index = 0; index < options.objects; index += 1) {
    const due = started + (index * options.writeMs) / options.objects;
    if (due > Date.now()) await sleep(due - Date.now());
    await queue.onSizeLessThan(32);
    queue.add(async () => {
      const { key, body } = sampleObject(index);
      const reason = REASONS[index % REASONS.length] as (typeof REASONS)[number];
      const etag = await writeObject(options.s3, { bucket: options.sourceBucket, key, body }, reason);
      const time = new Date();
      writtenAt.set(key, time.getTime());
      rows.push({ key, size: Buffer.byteLength(body), lastModified: time, etag });
      if (dropped.has(index)) return;
      const sequencer = time.getTime().toString(16).toUpperCase().padStart(16, '0');
      const event = eventBridgeObjectCreated({ bucket: options.sourceBucket, key }, Buffer.byteLength(body), '000000000000', time, {
        etag,
        sequencer,
        reason,
      });
      await options.sqs.send(new SendMessageBatchCommand({ QueueUrl: buffer, Entries: [{ Id: '0', MessageBody: JSON.stringify(event) }] }));
    });
  }
  await queue.onIdle();
  return { rows, writtenAt };
}

/**
 * Writes one object as `reason` says, and returns its ETag as S3 gives it (a multipart upload's
 * ends in `-<parts>`). The emulator has no CopyObject: a copy is written with PutObject, and its
 * event says CopyObject, as S3's does for a copy.
 */
async function writeObject(
  s3: S3Client,
  object: { bucket: string; key: string; body: string },
  reason: (typeof REASONS)[number],
): Promise<string> {
  const { bucket: Bucket, key: Key, body: Body } = object;
  if (reason !== 'CompleteMultipartUpload') {
    const { ETag = '' } = await s3.send(new PutObjectCommand({ Bucket, Key, Body }));
    return ETag.replaceAll('"', '');
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const { ETag: part } = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body }));
  const { ETag = '' } = await s3.send(
    new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part }] } }),
  );
  return ETag.replaceAll('"', '');
}

/** Until the buffer holds no message, visible or in flight. */
async function untilEmpty(sqs: SQSClient, queueUrl: string): Promise<void> {
  for (;;) {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    if (Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible) === 0) return;
    await sleep(50);
  }
}

/** Every message of the target queue, deleted as read, with its key and when SQS took it. */
async function drainWithTimes(sqs: SQSClient, queueUrl: string): Promise<Array<{ key: string; sentAt: number }>> {
  const messages: Array<{ key: string; sentAt: number }> = [];
  const read = (message: Message) =>
    messages.push({ key: (JSON.parse(message.Body ?? '{}') as { key: string }).key, sentAt: Number(message.Attributes?.SentTimestamp) });
  await drainQueue(sqs, queueUrl, read, ['SentTimestamp']);
  return messages;
}
