import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { sqsRecord } from './event-source.ts';

export interface BatchingEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Records per invocation at most (Lambda: up to 10,000 for a standard queue). */
  batchSize: number;
  /** How long records are gathered after the first one arrives (Lambda's MaximumBatchingWindowInSeconds). */
  windowMs: number;
  handler: (records: SQSRecord[]) => Promise<SQSBatchResponse>;
  /** Stops polling once the batch in hand is handled. */
  signal: AbortSignal;
}

const IDLE_POLL_MS = 20;

/**
 * What Lambda's SQS event source mapping does with a batching window, for local runs: once a
 * record arrives, records are gathered for `windowMs` or until `batchSize`, the handler gets them
 * all, the records it did not report as failures are deleted, and the failed ones are made visible
 * again at once. One invocation at a time.
 */
export async function runBatchingEventSource(options: BatchingEventSourceOptions): Promise<{ invocations: number; records: number }> {
  const result = { invocations: 0, records: 0 };
  while (!options.signal.aborted) {
    const batch = await gather(options);
    if (batch.length === 0) {
      await sleep(IDLE_POLL_MS);
      continue;
    }
    result.invocations += 1;
    result.records += batch.length;
    const { batchItemFailures } = await options.handler(batch.map((message) => sqsRecord(message, options.queueUrl)));
    const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    await settle(
      options,
      batch.filter((message) => !failed.has(message.MessageId ?? '')),
      'delete',
    );
    await settle(
      options,
      batch.filter((message) => failed.has(message.MessageId ?? '')),
      'retry',
    );
  }
  return result;
}

async function gather(options: BatchingEventSourceOptions): Promise<Message[]> {
  const batch: Message[] = [];
  let firstAt: number | undefined;
  while (batch.length < options.batchSize && (firstAt === undefined || Date.now() - firstAt < options.windowMs)) {
    const { Messages = [] } = await options.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: options.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }),
    );
    if (Messages.length > 0) {
      firstAt ??= Date.now();
      batch.push(...Messages);
    } else if (firstAt === undefined) return batch;
    else await sleep(IDLE_POLL_MS);
  }
  return batch;
}

async function settle(options: BatchingEventSourceOptions, messages: Message[], how: 'delete' | 'retry'): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    const entries = messages
      .slice(start, start + 10)
      .map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle }));
    await options.sqs.send(
      how === 'delete'
        ? new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries })
        : new ChangeMessageVisibilityBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: entries.map((entry) => ({ ...entry, VisibilityTimeout: 0 })),
          }),
    );
  }
}
