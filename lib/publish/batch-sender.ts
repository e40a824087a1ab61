import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { SqsClientKind } from '../core/config.ts';
import { JsonBatchSender } from './json-sender.ts';

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

/** Answers SQS gives when the credentials signed with have expired. */
export const EXPIRED_CREDENTIALS = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);

/**
 * Makes a call; when SQS says its credentials have expired (revoked early, or expired between the
 * cache's check and the call), fetches new ones and makes it once more.
 */
export async function withFreshCredentials<T>(credentials: AwsCredentialIdentityProvider, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const { name, code } = error as { name?: string; code?: string };
    if (!EXPIRED_CREDENTIALS.has(code ?? '') && !EXPIRED_CREDENTIALS.has(name ?? '')) throw error;
    await credentials({ forceRefresh: true });
    return call();
  }
}
