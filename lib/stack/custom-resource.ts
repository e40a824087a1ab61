import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

export type CustomResourceStatus = 'SUCCESS' | 'FAILED';

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
  // The pre-signed URL is signed for an empty content type.
  const response = await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!response.ok) throw new Error(`CloudFormation response was refused: HTTP ${response.status}`);
}
