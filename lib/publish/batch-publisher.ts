import type { BatchResultErrorEntry, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import PQueue from 'p-queue';
import { isFifoQueue, type MessageFormat } from '../core/config.ts';
import { PublishAbortedError, SqsRequestError } from '../core/errors.ts';
import { displayKey } from '../core/key-display.ts';
import { fifoFields, messageBody, s3EventBody } from '../core/message.ts';
import { DEFAULT_BACKOFF, isRetryableEntryFailure, isRetryableRequestError, waitBeforeRetry, type BackoffPolicy } from '../core/retry.ts';
import type { RunStats } from '../core/run-stats.ts';
import type { Log, MessageField, ObjectRef } from '../core/types.ts';
import type { RateLimiter } from './rate-limiter.ts';
import type { BatchSender } from './types.ts';
import { httpStatusOf } from '../core/aws-errors.ts';

/** SendMessageBatch limits: entries per call, and bytes per message and per call. */
export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_BYTES = 1_048_576;
/** SQS bills every 64 KiB of a request's payload as one request. */
export const BILLED_CHUNK_BYTES = 65_536;

export interface BatchPublisherOptions {
  queueUrl: string;
  /** Batches in flight at once; `publish` waits while they are all busy. */
  concurrency: number;
  /** Attempts per message, the first included, before it counts as failed. */
  maxAttempts: number;
  /** FIFO queues only: how many message groups keys are spread over. */
  fifoMessageGroups: number;
  /** Optional fields of every message, after `bucket` and `key`. */
  messageFields?: readonly MessageField[];
  /** `s3-event`: each message is an S3 event notification of its object, in `region`. */
  messageFormat?: MessageFormat;
  region?: string;
  backoff?: BackoffPolicy;
  /** Payload limit of one call; lower only to test batching. */
  maxBatchBytes?: number;
  /** Called once per object when it is no longer pending: published (true) or failed (false). */
  onSettled?: (object: ObjectRef, published: boolean) => void;
  /** Paces every send, re-sends included: the consumers' messages-per-second cap. */
  limiter?: RateLimiter;
  stats: RunStats;
  log: Log;
}

interface PendingMessage {
  /** Entry id: its position in the batch, kept across retries. */
  id: string;
  object: ObjectRef;
  body: string;
  /** The body's UTF-8 length, measured once when published. */
  bytes: number;
}

interface EntryFailure {
  message: PendingMessage;
  reason: string;
  retryable: boolean;
}

/**
 * Turns objects into SendMessageBatch calls of at most 10 messages and 1 MiB, keeps a bounded
 * number of calls in flight, and re-sends what SQS did not take, with backoff. Every object ends
 * up counted in `stats` as published or failed; failures never throw from `publish`, except after
 * an error that every further call would repeat, which aborts the run.
 */
export class BatchPublisher {
  readonly #options: Required<Omit<BatchPublisherOptions, 'log' | 'stats' | 'onSettled' | 'limiter'>>;
  readonly #limiter: RateLimiter | undefined;
  readonly #onSettled: ((object: ObjectRef, published: boolean) => void) | undefined;
  readonly #sender: BatchSender;
  readonly #stats: RunStats;
  readonly #log: Log;
  readonly #fifo: boolean;
  readonly #inFlight: PQueue;
  #batch: PendingMessage[] = [];
  #batchBytes = 0;
  #aborted: PublishAbortedError | undefined;

  constructor(sender: BatchSender, options: BatchPublisherOptions) {
    this.#sender = sender;
    this.#options = {
      backoff: DEFAULT_BACKOFF,
      maxBatchBytes: MAX_BATCH_BYTES,
      queueUrl: options.queueUrl,
      concurrency: options.concurrency,
      maxAttempts: options.maxAttempts,
      fifoMessageGroups: options.fifoMessageGroups,
      messageFields: options.messageFields ?? [],
      messageFormat: options.messageFormat ?? 'plain',
      region: options.region ?? '',
      ...(options.backoff && { backoff: options.backoff }),
      ...(options.maxBatchBytes && { maxBatchBytes: options.maxBatchBytes }),
    };
    this.#stats = options.stats;
    this.#log = options.log;
    this.#onSettled = options.onSettled;
    this.#limiter = options.limiter;
    this.#fifo = isFifoQueue(options.queueUrl);
    this.#inFlight = new PQueue({ concurrency: options.concurrency });
  }

  /**
   * Adds one object to the current batch. Returns a promise only when the caller must wait, while
   * every in-flight slot is taken: a source hands its rows over without an `await` each.
   */
  publish(object: ObjectRef): Promise<void> | undefined {
    if (this.#aborted) throw this.#aborted;
    const { messageFormat, messageFields, region } = this.#options;
    const body = messageFormat === 's3-event' ? s3EventBody(object, region) : messageBody(object, messageFields);
    const bytes = Buffer.byteLength(body);
    if (bytes > this.#options.maxBatchBytes) {
      this.#stats.recordFailure(object, `message is ${bytes} bytes, over the ${this.#options.maxBatchBytes}-byte limit`);
      this.#onSettled?.(object, false);
      return undefined;
    }
    if (this.#batch.length > 0 && this.#batchBytes + bytes > this.#options.maxBatchBytes)
      return this.#publishAfterDispatch(object, body, bytes);
    this.#add(object, body, bytes);
    return this.#batch.length === MAX_BATCH_ENTRIES ? this.#dispatch() : undefined;
  }

  /** Sends the last partial batch and waits until every batch has settled. */
  async flush(): Promise<void> {
    if (this.#batch.length > 0) await this.#dispatch();
    await this.#inFlight.onIdle();
    if (this.#aborted) throw this.#aborted;
  }

  /** A message that does not fit the current batch: the batch goes first. */
  async #publishAfterDispatch(object: ObjectRef, body: string, bytes: number): Promise<void> {
    // Checked again after each wait: concurrent callers may have filled the new batch meanwhile.
    while (this.#batch.length > 0 && this.#batchBytes + bytes > this.#options.maxBatchBytes) await this.#dispatch();
    this.#add(object, body, bytes);
    if (this.#batch.length === MAX_BATCH_ENTRIES) await this.#dispatch();
  }

  #add(object: ObjectRef, body: string, bytes: number): void {
    this.#batch.push({ id: String(this.#batch.length), object, body, bytes });
    this.#batchBytes += bytes;
    this.#stats.pending += 1;
  }

  /** Hands the current batch to the in-flight queue; a promise when it must wait for a slot. */
  #dispatch(): Promise<void> | undefined {
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    const send = () => void this.#inFlight.add(() => this.#sendWithRetries(batch));
    // At most one batch waits beside the ones in flight: this is the reader's backpressure.
    if (this.#inFlight.size > 0) return this.#inFlight.onSizeLessThan(1).then(send);
    send();
    return undefined;
  }

  async #sendWithRetries(batch: PendingMessage[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; ; attempt += 1) {
      if (this.#aborted) {
        this.#recordFailures(pending, this.#aborted.message);
        return;
      }
      await this.#limiter?.take(pending.length);
      const failures = await this.#send(pending);
      const retryable = failures.filter((failure) => failure.retryable);
      this.#recordFailures(
        failures.filter((failure) => !failure.retryable).map((failure) => failure.message),
        failures.find((failure) => !failure.retryable)?.reason,
      );
      if (retryable.length === 0) return;
      if (attempt >= this.#options.maxAttempts) {
        this.#recordFailures(
          retryable.map((failure) => failure.message),
          `${retryable[0]?.reason} (gave up after ${attempt} attempts)`,
        );
        return;
      }
      this.#stats.retries += retryable.length;
      this.#log.debug('re-sending messages', { count: retryable.length, attempt, reason: retryable[0]?.reason });
      await waitBeforeRetry(attempt, this.#options.backoff);
      pending = retryable.map((failure) => failure.message);
    }
  }

  /** One SendMessageBatch call; returns the messages SQS did not take. */
  async #send(messages: PendingMessage[]): Promise<EntryFailure[]> {
    try {
      const rejected = await this.#sender.sendBatch(
        this.#options.queueUrl,
        messages.map((message) => this.#entry(message)),
      );
      const failures = rejected.length === 0 ? [] : entryFailures(messages, rejected);
      const bytes = messages.reduce((total, message) => total + message.bytes, 0);
      this.#stats.sends += 1;
      this.#stats.sqsRequests += Math.max(1, Math.ceil(bytes / BILLED_CHUNK_BYTES));
      this.#stats.published += messages.length - failures.length;
      this.#stats.pending -= messages.length - failures.length;
      if (this.#onSettled) {
        for (const message of messages) if (!failures.some((failure) => failure.message === message)) this.#onSettled(message.object, true);
      }
      return failures;
    } catch (error) {
      const reason = describeError(error);
      if (isRetryableRequestError(error)) {
        return messages.map((message) => ({ message, reason, retryable: true }));
      }
      this.#aborted ??= new PublishAbortedError(`SendMessageBatch to ${this.#options.queueUrl} failed: ${reason}`, {
        cause: error,
      });
      this.#log.error('publishing aborted', { queueUrl: this.#options.queueUrl, reason });
      return messages.map((message) => ({ message, reason, retryable: false }));
    }
  }

  #entry(message: PendingMessage): SendMessageBatchRequestEntry {
    if (!this.#fifo) return { Id: message.id, MessageBody: message.body };
    return {
      Id: message.id,
      MessageBody: message.body,
      ...fifoFields(message.object, this.#options.fifoMessageGroups, this.#options.messageFields.includes('versionId')),
    };
  }

  #recordFailures(messages: PendingMessage[], reason = 'unknown'): void {
    if (messages.length === 0) return;
    this.#stats.pending -= messages.length;
    for (const message of messages) {
      this.#stats.recordFailure(message.object, reason);
      this.#onSettled?.(message.object, false);
    }
    this.#log.warn('messages not published', { count: messages.length, reason, firstKey: displayKey(messages[0]?.object.key ?? '') });
  }
}

/** The messages of a call that SQS answered with `Failed[]` entries, matched by entry id. */
function entryFailures(messages: PendingMessage[], rejected: BatchResultErrorEntry[]): EntryFailure[] {
  return rejected.flatMap((entry) => {
    const message = messages.find((candidate) => candidate.id === entry.Id);
    return message
      ? [{ message, reason: `${entry.Code}: ${entry.Message ?? 'no message'}`, retryable: isRetryableEntryFailure(entry) }]
      : [];
  });
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = error instanceof SqsRequestError ? error.status : httpStatusOf(error);
  return `${error.name}: ${error.message}${status ? ` (HTTP ${status})` : ''}`;
}
