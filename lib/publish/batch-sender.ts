import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * One SendMessageBatch call. Resolves with the entries SQS did not take (`Failed[]` of a 200
 * answer); rejects when the whole call failed, with an error `isRetryableRequestError` classifies.
 */
export interface BatchSender {
  sendBatch(queueUrl: string, entries: SendMessageBatchRequestEntry[]): Promise<BatchResultErrorEntry[]>;
}

/** The stock SDK client (`SQS_CLIENT=sdk`): every option of the SDK, at about three times the CPU. */
export function sdkBatchSender(sqs: SQSClient): BatchSender {
  return {
    async sendBatch(queueUrl, entries) {
      const output = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      return output.Failed ?? [];
    },
  };
}
