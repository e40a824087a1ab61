import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DEFAULTS, loadRequestTimeoutMs, type Environment } from './config.ts';

export interface AwsClients {
  s3: S3Client;
  sqs: SQSClient;
}

export interface ClientOptions {
  /** Requests in flight at once; sockets are sized so none waits for a connection. */
  concurrency: number;
  /** Set when `AWS_ENDPOINT_URL` points at an emulator, which serves buckets path-style. */
  endpointUrl?: string;
  /** Deadline of every call: for its answer to begin, and for any silence within it. */
  requestTimeoutMs?: number;
  /** The target queue: SQS calls are signed for the region its URL names, whatever the default. */
  queueUrl?: string;
}

/**
 * The region an SQS queue URL names (`https://sqs.<region>.amazonaws.com/…`, or the legacy
 * `https://<region>.queue.amazonaws.com/…`); undefined for any other host, such as an emulator's.
 */
export function queueRegion(queueUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(queueUrl).hostname;
  } catch {
    return undefined;
  }
  return (
    /^sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1] ??
    /^([a-z]{2}(?:-[a-z]+)+-\d+)\.queue\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1]
  );
}

/**
 * The HTTP handler of every client. `requestTimeout` alone only logs a warning in this handler's
 * version unless `throwOnRequestTimeout` is set; it covers the wait for the response headers, and
 * `socketTimeout` covers a body that stops arriving (a stalled download: the reader resumes it).
 */
export function requestHandler(concurrency: number, requestTimeoutMs: number = DEFAULTS.requestTimeoutMs): NodeHttpHandler {
  const agentOptions = { keepAlive: true, maxSockets: concurrency + 16 };
  return new NodeHttpHandler({
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
    connectionTimeout: Math.min(5_000, requestTimeoutMs),
    requestTimeout: requestTimeoutMs,
    throwOnRequestTimeout: true,
    socketTimeout: requestTimeoutMs,
  });
}

/**
 * Both clients read region and credentials the SDK's usual way. A custom endpoint is passed in
 * explicitly: S3 then uses path-style URLs, and SQS sends to it rather than to the host named in
 * the queue URL (which the SDK prefers when the endpoint only comes from the environment). SQS
 * retries are off in the SDK: the publisher retries requests, timed-out ones included, and failed
 * entries under one policy.
 */
export function createAwsClients(options: ClientOptions): AwsClients {
  const endpoint = options.endpointUrl ? { endpoint: options.endpointUrl } : {};
  const region = options.queueUrl && queueRegion(options.queueUrl);
  return {
    s3: new S3Client({
      ...endpoint,
      requestHandler: requestHandler(options.concurrency, options.requestTimeoutMs),
      forcePathStyle: options.endpointUrl !== undefined,
    }),
    sqs: new SQSClient({
      ...endpoint,
      // A queue URL pasted from another region than AWS_REGION is still signed for its own.
      ...(region && { region }),
      requestHandler: requestHandler(options.concurrency, options.requestTimeoutMs),
      maxAttempts: 1,
    }),
  };
}

/**
 * An SQS client for control calls (queue lookup, work queue, the CLI's check of its target queue)
 * with the SDK's own retries; signed for the region `queueUrl` names, when it names one.
 */
export function createControlSqsClient(env: Environment = process.env, maxAttempts = 6, queueUrl?: string): SQSClient {
  const endpoint = env.AWS_ENDPOINT_URL?.trim();
  const region = queueUrl && queueRegion(queueUrl);
  return new SQSClient({
    maxAttempts,
    requestHandler: requestHandler(4, loadRequestTimeoutMs(env)),
    ...(endpoint && { endpoint }),
    ...(region && { region }),
  });
}

/** Clients for whatever endpoint `AWS_ENDPOINT_URL` names, if any (the functions and the CLI). */
export function createAwsClientsFromEnvironment(concurrency: number, env: Environment = process.env): AwsClients {
  const endpointUrl = env.AWS_ENDPOINT_URL?.trim();
  return createAwsClients({ concurrency, requestTimeoutMs: loadRequestTimeoutMs(env), ...(endpointUrl && { endpointUrl }) });
}
