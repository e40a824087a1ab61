import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { BackfillEvent } from './event.ts';

/**
 * Queues the next invocation of this same function (asynchronous: it returns at once) with the
 * continuation. Direct invocations are not the SQS/SNS/S3 triggers that Lambda's recursive loop
 * detection counts, so a chain may be as long as the bucket needs.
 */
export async function invokeNext(lambda: LambdaClient, functionArn: string, event: BackfillEvent): Promise<void> {
  await lambda.send(new InvokeCommand({ FunctionName: functionArn, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }));
}
