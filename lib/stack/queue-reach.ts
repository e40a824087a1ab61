import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { httpStatusOf } from '../core/aws-errors.ts';

/**
 * Refuses an existing target queue this account cannot reach: GetQueueUrl with the queue's owner,
 * the call the functions make first. A queue of another account is reached only when its owner's
 * queue policy allows this account (and its KMS key policy, for a customer-managed key).
 */
export async function assertQueueReachable(sqs: SQSClient, queueArn: string): Promise<void> {
  const [, , , , account = '', name = ''] = queueArn.split(':');
  try {
    await sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }));
  } catch (error) {
    const { name: code, message } = error as Error;
    const status = httpStatusOf(error);
    throw new Error(
      `target queue ${queueArn} cannot be reached by this account (${code}${status ? ` ${status}` : ''}: ${message}): it must exist, ` +
        'and a queue of another account must allow this account sqs:GetQueueUrl and sqs:SendMessage in its queue policy (docs/deploying.md, "Another account\'s queue or key")',
      { cause: error },
    );
  }
}
