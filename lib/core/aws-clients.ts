import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsClients {
  s3: S3Client;
  sqs: SQSClient;
}

export interface ClientOptions {
  /** Requests in flight at once; sockets are sized so none waits for a connection. */
  concurrency: number;
  /** Set when `AWS_ENDPOINT_URL` points at an emulator, which serves buckets path-style. */
  endpointUrl?: string;
}

/**
 * Both clients read region and credentials the SDK's usual way. A custom endpoint is passed in
 * explicitly: S3 then uses path-style URLs, and SQS sends to it rather than to the host named in
 * the queue URL (which the SDK prefers when the endpoint only comes from the environment). SQS
 * retries are off in the SDK: the publisher retries requests and failed entries under one policy.
 */
export function createAwsClients(options: ClientOptions): AwsClients {
  const requestHandler = (requestTimeout?: number) => {
    const agentOptions = { keepAlive: true, maxSockets: options.concurrency + 16 };
    return new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: 5_000,
      ...(requestTimeout && { requestTimeout }),
    });
  };
  const endpoint = options.endpointUrl ? { endpoint: options.endpointUrl } : {};
  return {
    // No idle timeout on S3: a data file's stream is paused while the publisher is busy.
    s3: new S3Client({ ...endpoint, requestHandler: requestHandler(), forcePathStyle: options.endpointUrl !== undefined }),
    // A hung SendMessageBatch fails after 30 s and is retried like any transient error.
    sqs: new SQSClient({ ...endpoint, requestHandler: requestHandler(30_000), maxAttempts: 1 }),
  };
}

/** Clients for whatever endpoint `AWS_ENDPOINT_URL` names, if any (the functions and the CLI). */
export function createAwsClientsFromEnvironment(concurrency: number, env: NodeJS.ProcessEnv = process.env): AwsClients {
  const endpointUrl = env.AWS_ENDPOINT_URL?.trim();
  return createAwsClients({ concurrency, ...(endpointUrl && { endpointUrl }) });
}
