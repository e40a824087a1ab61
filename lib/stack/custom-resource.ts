import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { httpStatusOf } from '../core/aws-errors.ts';
import { DEFAULT_BACKOFF, waitBeforeRetry } from '../core/retry.ts';

export type CustomResourceStatus = 'SUCCESS' | 'FAILED';

/**
 * S3 answered that what a Delete would undo is out of reach: gone (404), in another region
 * (301), or not allowed to this role any more (403). A Delete then succeeds, logging what it left.
 */
export function isOutOfReach(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === 301 || status === 403 || status === 404;
}

const RESPONSE_TIMEOUT_MS = 10_000;
const RESPONSE_ATTEMPTS = 3;

/**
 * Tells CloudFormation how a custom resource operation ended, by a PUT of the response document
 * to the pre-signed URL in the event. Without it the stack waits for an hour.
 */
export async function sendCustomResourceResponse(
  event: CloudFormationCustomResourceEvent,
  status: CustomResourceStatus,
  physicalResourceId: string,
  reason = '',
): Promise<void> {
  const body = JSON.stringify({
    Status: status,
    Reason: reason.slice(0, 4_000),
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  // A few tries, each with a deadline: an unanswered PUT would leave the stack waiting an hour.
  for (let attempt = 1; ; attempt += 1) {
    try {
      // The pre-signed URL is signed for an empty content type.
      const response = await fetch(event.ResponseURL, {
        method: 'PUT',
        body,
        headers: { 'content-type': '' },
        signal: AbortSignal.timeout(RESPONSE_TIMEOUT_MS),
      });
      if (response.ok) return;
      throw new Error(`CloudFormation response was refused: HTTP ${response.status}`);
    } catch (error) {
      if (attempt >= RESPONSE_ATTEMPTS) throw error;
      await waitBeforeRetry(attempt, DEFAULT_BACKOFF);
    }
  }
}
