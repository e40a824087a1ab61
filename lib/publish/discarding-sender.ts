import type { BatchResultErrorEntry, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { BatchSender } from './types.ts';

/**
 * The sender of a dry run: takes every batch as SQS would and sends nothing. The publisher counts
 * its calls and the requests SQS would bill for them, as it does for a real sender.
 */
export class DiscardingSender implements BatchSender {
  async sendBatch(_queueUrl: string, _entries: SendMessageBatchRequestEntry[]): Promise<BatchResultErrorEntry[]> {
    return [];
  }
}
