import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { httpStatusOf } from '../core/aws-errors.ts';
import { InvalidArgumentError, PublishAbortedError } from '../core/errors.ts';
import { isRetryableRequestError } from '../core/retry.ts';

/**
 * Asks SQS about the target queue once, before anything is read, so that a wrong URL stops a run
 * with one line instead of a failed send per batch. A caller not allowed GetQueueAttributes may
 * still be allowed to send: that answer lets the run go on, and the sends tell. A queue that does
 * not exist, or a URL SQS refuses, is bad input; no answer at all fails the run.
 */
export async function checkTargetQueue(sqs: SQSClient, queueUrl: string): Promise<void> {
  try {
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  } catch (error) {
    const { name, message } = error as Error;
    const status = httpStatusOf(error);
    if (status === 403 && /AccessDenied|not authorized/i.test(`${name} ${message}`)) return;
    const answer = `${name}: ${message}${status ? ` (HTTP ${status})` : ''}`;
    if (status === undefined || isRetryableRequestError(error)) {
      throw new PublishAbortedError(`queue ${queueUrl} did not answer: ${answer}`, { cause: error });
    }
    throw new InvalidArgumentError(`queue ${queueUrl} cannot be used: SQS answered ${answer}`);
  }
}
