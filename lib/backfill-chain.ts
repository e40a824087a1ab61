import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { BackfillEvent } from './backfill-event.ts';

/** Lambda stops a function at 15 minutes at most; the backfill stops itself before that. */
const MAX_RESERVE_MS = 60_000;

/**
 * How long a backfill invocation may publish: the remaining time less a reserve for the batches
 * in flight to settle (with their retries) and for the next invocation to be queued: a minute, or
 * a fifth of the remaining time when that is less.
 */
export function publishingBudget(remainingMs: number): number {
  return Math.max(1, Math.floor(remainingMs - Math.min(MAX_RESERVE_MS, remainingMs / 5)));
}

/**
 * Queues the next invocation of this same function (asynchronous: it returns at once) with the
 * continuation. Direct invocations are not the SQS/SNS/S3 triggers that Lambda's recursive loop
 * detection counts, so a chain may be as long as the bucket needs.
 */
export async function invokeNext(lambda: LambdaClient, functionArn: string, event: BackfillEvent): Promise<void> {
  await lambda.send(
    new InvokeCommand({ FunctionName: functionArn, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }),
  );
}
