import type { BatchResultErrorEntry, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';

/**
 * One SendMessageBatch call. Resolves with the entries SQS did not take (`Failed[]` of a 200
 * answer); rejects when the whole call failed, with an error `isRetryableRequestError` classifies.
 */
export interface BatchSender {
  sendBatch(queueUrl: string, entries: SendMessageBatchRequestEntry[]): Promise<BatchResultErrorEntry[]>;
}

export interface BatchSenderOptions {
  concurrency: number;
  requestTimeoutMs: number;
  endpointUrl?: string;
}
