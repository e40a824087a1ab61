import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

import { getJson, reportKey, type RunFolder, type RunStateStore, runFolder } from '../run/state.ts';
import type { Log, S3Location } from '../core/types.ts';
import type { RunReport } from '../run/types.ts';

const IDLE_POLL_MS = 50;

/** A function an SQS event source invokes: a batch response (partial failures), or nothing. */
export type QueueHandler = (event: SQSEvent) => Promise<unknown>;

export interface LocalEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Invocations at once, as the event source mapping's maximumConcurrency. */
  concurrency: number;
  handler: QueueHandler;
  /** How long a received message stays hidden while its invocation runs. */
  visibilityTimeoutSeconds: number;
  /** How soon a failed message is delivered again (Lambda leaves it to the visibility timeout). */
  retryDelaySeconds: number;
  /** Stops polling; invocations under way finish first. */
  signal: AbortSignal;
  log: Log;
}

export interface LocalEventSourceResult {
  invocations: number;
  failures: number;
}

/**
 * What Lambda's SQS event source mapping does, for local runs: `concurrency` pollers each receive
 * one message, invoke the handler with it, and delete it when the invocation succeeds. A failed
 * message becomes visible again and, after the queue's maxReceiveCount, moves to its dead-letter
 * queue, as the emulator applies the redrive policy.
 */
export async function runLocalEventSource(options: LocalEventSourceOptions): Promise<LocalEventSourceResult> {
  const result = { invocations: 0, failures: 0 };
  // Short polls: an abandoned long poll would still take a message on the emulator's side and
  // hide it for the visibility timeout.
  const receive = async (): Promise<Message[]> => {
    const { Messages = [] } = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 0,
        VisibilityTimeout: options.visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) await sleep(IDLE_POLL_MS);
    return Messages;
  };
  const poll = async () => {
    while (!options.signal.aborted) {
      const Messages = await receive();
      for (const message of Messages) {
        result.invocations += 1;
        if (await invoke(message)) {
          await options.sqs.send(new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }));
        } else {
          result.failures += 1;
          await options.sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: options.queueUrl,
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: options.retryDelaySeconds,
            }),
          );
        }
      }
    }
  };
  const invoke = async (message: Message): Promise<boolean> => {
    try {
      const response = (await options.handler({ Records: [sqsRecord(message, options.queueUrl)] })) as SQSBatchResponse | undefined;
      return !response?.batchItemFailures.some((failure) => failure.itemIdentifier === message.MessageId);
    } catch (error) {
      options.log.warn('local invocation failed', { messageId: message.MessageId, error: String(error) });
      return false;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, poll));
  return result;
}

/** A received message as Lambda's SQS event source hands it to a function. */
export function sqsRecord(message: Message, queueUrl: string): SQSRecord {
  const [, , , account = '000000000000', name = ''] = queueUrl.split('/');
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${process.env.AWS_REGION ?? 'us-east-1'}:${account}:${name}`,
    awsRegion: process.env.AWS_REGION ?? 'us-east-1',
  };
}

export interface LocalRunOptions {
  s3: S3Client;
  sqs: SQSClient;
  manifest: S3Location;
  /** Where runs of reports in other buckets keep their state, as the functions are told. */
  stateStore?: RunStateStore;
  /** The runs are dry runs: their state is in the dry-run folder. */
  dryRun?: boolean;
  workQueueUrl: string;
  deadLetterQueueUrl: string;
  workers: number;
  worker: QueueHandler;
  deadLetter: QueueHandler;
  retryDelaySeconds?: number;
  /** How often the runs' report.json is looked for (50 ms by default). */
  reportPollMs?: number;
  log: Log;
}

/**
 * Runs the workers on the work queue and the dead-letter function on its dead-letter queue, as
 * the stack's event source mappings would, until the report's run has written its report.
 */
export async function runWorkersUntilReport(options: LocalRunOptions): Promise<RunReport> {
  const [report] = await runWorkersUntilReports({ ...options, manifests: [options.manifest] });
  return report as RunReport;
}

/** `runWorkersUntilReport` for the runs of several reports at once: their reports, in order. */
export function runWorkersUntilReports(options: Omit<LocalRunOptions, 'manifest'> & { manifests: S3Location[] }): Promise<RunReport[]> {
  const runs = options.manifests.map((manifest) => runFolder(manifest, options.stateStore, options.dryRun));
  return runWorkersUntilRunsEnd<RunReport>({ ...options, runs });
}

/** The same for runs given by their state folders (a backfill run's): the report.json of each, in order. */
export async function runWorkersUntilRunsEnd<Report>(
  options: Omit<LocalRunOptions, 'manifest' | 'stateStore' | 'dryRun'> & { runs: RunFolder[] },
): Promise<Report[]> {
  const stop = new AbortController();
  const common = {
    sqs: options.sqs,
    visibilityTimeoutSeconds: 900,
    retryDelaySeconds: options.retryDelaySeconds ?? 1,
    signal: stop.signal,
    log: options.log,
  };
  let ended = false;
  const sources = Promise.all([
    runLocalEventSource({ ...common, queueUrl: options.workQueueUrl, concurrency: options.workers, handler: options.worker }),
    runLocalEventSource({ ...common, queueUrl: options.deadLetterQueueUrl, concurrency: 1, handler: options.deadLetter }),
  ]).finally(() => {
    ended = true;
  });
  try {
    for (;;) {
      const reports = await Promise.all(options.runs.map((run) => getJson<Report>(options.s3, run.bucket, reportKey(run))));
      if (reports.every(Boolean)) return reports.map((report) => (report as { value: Report }).value);
      if (ended) throw new Error('the local workers stopped before every run had its report');
      await sleep(options.reportPollMs ?? IDLE_POLL_MS);
    }
  } finally {
    stop.abort();
    await sources;
  }
}
