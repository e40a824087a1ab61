import type { BatchResultErrorEntry, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { BILLED_CHUNK_BYTES } from './batch-publisher.ts';
import type { BatchSender } from './types.ts';

/**
 * The sender of a dry run: takes every batch as SQS would and sends nothing, counting what a real
 * run would send: SendMessageBatch calls, messages, payload bytes and the requests SQS would bill.
 */
export class CountingSender implements BatchSender {
  calls = 0;
  messages = 0;
  bytes = 0;
  billedRequests = 0;

  async sendBatch(_queueUrl: string, entries: SendMessageBatchRequestEntry[]): Promise<BatchResultErrorEntry[]> {
    const bytes = entries.reduce((total, entry) => total + Buffer.byteLength(entry.MessageBody ?? ''), 0);
    this.calls += 1;
    this.messages += entries.length;
    this.bytes += bytes;
    this.billedRequests += Math.max(1, Math.ceil(bytes / BILLED_CHUNK_BYTES));
    return [];
  }
}
