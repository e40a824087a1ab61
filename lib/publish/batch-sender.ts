import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SqsClientKind } from '../core/config.ts';
import { withFreshCredentials } from './fresh-credentials.ts';
import { JsonBatchSender } from './json-sender.ts';
import type { BatchSender, BatchSenderOptions } from './types.ts';

/**
 * The sender of a run: the JSON-protocol one (`lean`), or the stock client (`sdk`) for what the
 * lean one does not do (an HTTP proxy, FIPS or dual-stack endpoints). Both sign with the SQS
 * client's region and credentials: the SDK's provider chain, cached and refreshed by the client.
 */
export function createBatchSender(kind: SqsClientKind, sqs: SQSClient, options: BatchSenderOptions): BatchSender {
  if (kind === 'sdk') return sdkBatchSender(sqs);
  return new JsonBatchSender({ ...options, region: sqs.config.region, credentials: sqs.config.credentials });
}

function sdkBatchSender(sqs: SQSClient): BatchSender {
  return {
    sendBatch: (queueUrl, entries) =>
      withFreshCredentials(sqs.config.credentials, async () => {
        const output = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        return output.Failed ?? [];
      }),
  };
}
