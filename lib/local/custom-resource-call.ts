import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

export interface CustomResourceRequest {
  type: string;
  request: 'Create' | 'Update' | 'Delete';
  properties: Record<string, unknown>;
  /** Update and Delete: the id the resource was given. */
  physicalId?: string;
}

/** What the function told CloudFormation at the response URL. */
export interface CustomResourceResponse {
  Status: string;
  Reason?: string;
  PhysicalResourceId?: string;
}

/**
 * A custom resource operation as CloudFormation runs it: the event to the function, then the
 * response the function PUTs to the event's pre-signed URL, served here on loopback.
 */
export async function callCustomResource(
  handler: (event: CloudFormationCustomResourceEvent) => Promise<unknown>,
  { type, request, properties, physicalId }: CustomResourceRequest,
): Promise<CustomResourceResponse> {
  let response = '';
  const server = createServer(async (incoming, outgoing) => {
    response = Buffer.concat(await incoming.toArray()).toString('utf8');
    outgoing.writeHead(200).end();
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const region = process.env.AWS_REGION ?? 'us-east-1';
    await handler({
      RequestType: request,
      ServiceToken: `arn:aws:lambda:${region}:000000000000:function:s3-to-sqs-local-stackSetup`,
      ResponseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/response`,
      StackId: `arn:aws:cloudformation:${region}:000000000000:stack/s3-to-sqs-local/1`,
      RequestId: `${type}-${request}-${Date.now()}`,
      LogicalResourceId: type.replace('Custom::', ''),
      ResourceType: type,
      ResourceProperties: { ServiceToken: 'local', ...properties },
      ...(request !== 'Create' && { PhysicalResourceId: physicalId ?? `${type}-physical`, OldResourceProperties: {} }),
    } as CloudFormationCustomResourceEvent);
  } finally {
    server.close();
  }
  if (!response) throw new Error(`${type} ${request}: the function sent CloudFormation no response`);
  return JSON.parse(response) as CustomResourceResponse;
}
