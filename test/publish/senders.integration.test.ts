import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterEach, describe, expect, it } from 'vitest';
import { requestHandler } from '../../lib/core/aws-clients.ts';
import { PublishAbortedError } from '../../lib/core/errors.ts';
import { RunStats } from '../../lib/core/run-stats.ts';
import { startEmulatorProxy, type EmulatorProxy } from '../../lib/local/proxy.ts';
import { BatchPublisher } from '../../lib/publish/batch-publisher.ts';
import { createBatchSender } from '../../lib/publish/batch-sender.ts';
import type { SqsClientKind } from '../../lib/core/config.ts';
import { hexKeys, keysOf, silentLog, useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
let proxy: EmulatorProxy | undefined;
let queues = 0;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/** Session credentials from a provider that counts its calls: token-1, token-2, … */
function sessionCredentials(lifetimeMs: number) {
  const issued: string[] = [];
  const provider = async (): Promise<AwsCredentialIdentity> => {
    issued.push(`token-${issued.length + 1}`);
    return { accessKeyId: 'test', secretAccessKey: 'test', sessionToken: issued.at(-1), expiration: new Date(Date.now() + lifetimeMs) };
  };
  return { issued, provider };
}

interface PublishOptions {
  queueUrl: string;
  requestTimeoutMs?: number;
  credentials?: () => Promise<AwsCredentialIdentity>;
}

/** Publishes keys through the proxy with the given sender; returns the run's counters. */
async function publish(kind: SqsClientKind, keys: string[], { queueUrl, requestTimeoutMs = 30_000, credentials }: PublishOptions) {
  const endpoint = proxy?.endpoint ?? aws.emulator.endpoint;
  const sqs = new SQSClient({
    endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    requestHandler: requestHandler(4, requestTimeoutMs),
    ...(credentials && { credentials }),
  });
  const sender = createBatchSender(kind, sqs, { concurrency: 4, requestTimeoutMs, endpointUrl: endpoint });
  const stats = new RunStats();
  const publisher = new BatchPublisher(sender, {
    queueUrl,
    concurrency: 4,
    maxAttempts: 8,
    fifoMessageGroups: 16,
    backoff: { baseDelayMs: 5, maxDelayMs: 50 },
    stats,
    log: silentLog,
  });
  let failure: unknown;
  try {
    for (const key of keys) await publisher.publish({ bucket: 'photos', key });
    await publisher.flush();
  } catch (error) {
    failure = error;
  }
  return { stats, failure };
}

const newQueue = (kind: string, fifo = false) => aws.createQueue(`senders-${kind}-${(queues += 1)}${fifo ? '.fifo' : ''}`);

// Both senders stay selectable (SQS_CLIENT), so both pass the same tests.
describe.each(['lean', 'sdk'] as const)('the %s SendMessageBatch sender', (kind) => {
  it('publishes every key once', async () => {
    const keys = hexKeys(95, `${kind}-plain`);
    const queueUrl = await newQueue(kind);
    const { stats, failure } = await publish(kind, keys, { queueUrl });
    expect(failure).toBeUndefined();
    expect(stats).toMatchObject({ published: 95, failed: 0, retries: 0 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('re-sends the entries reported in Failed[] of a 200 answer', async () => {
    const keys = hexKeys(200, `${kind}-entries`);
    const queueUrl = await newQueue(kind);
    let faults = 0;
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      failEntry: () => ((faults += 1) % 7 === 0 ? { code: 'InternalError', senderFault: false } : undefined),
    });
    const { stats } = await publish(kind, keys, { queueUrl });
    expect(proxy.counts.entriesFailed).toBeGreaterThan(20);
    expect(stats).toMatchObject({ published: 200, failed: 0, retries: proxy.counts.entriesFailed });
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it.each([
    ['throttled', 400],
    ['answered with 500', 500],
    ['answered with 503', 503],
  ])('re-sends calls %s', async (_, status) => {
    const keys = hexKeys(100, `${kind}-${status}`);
    const queueUrl = await newQueue(kind);
    let calls = 0;
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { failRequest: () => ((calls += 1) % 2 === 1 ? status : undefined) });
    const { stats, failure } = await publish(kind, keys, { queueUrl });
    expect(failure).toBeUndefined();
    expect(proxy.counts.requestsFailed).toBeGreaterThanOrEqual(5);
    expect(stats).toMatchObject({ published: 100, failed: 0 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('gives up on a call that gets no answer within the deadline, and sends it again', async () => {
    const keys = hexKeys(50, `${kind}-held`);
    const queueUrl = await newQueue(kind);
    let calls = 0;
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { holdRequest: () => (calls += 1) <= 2 });
    const { stats, failure } = await publish(kind, keys, { queueUrl, requestTimeoutMs: 300 });
    expect(failure).toBeUndefined();
    expect(proxy.counts.requestsHeld).toBe(2);
    expect(stats).toMatchObject({ published: 50, failed: 0, retries: 20 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('signs with new session credentials once the old ones near their expiry', async () => {
    const keys = hexKeys(300, `${kind}-expiring`);
    const queueUrl = await newQueue(kind);
    // Valid for five minutes and 200 ms: the SDK's cache renews them in the last five minutes.
    const { issued, provider } = sessionCredentials(300_200);
    const tokens: string[] = [];
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      // About eight rounds of calls of 50 ms: the run outlasts the first credentials' 200 ms.
      latencyMs: 50,
      failRequest: (headers) => {
        tokens.push(String(headers['x-amz-security-token']));
        return undefined;
      },
    });
    const { stats, failure } = await publish(kind, keys, { queueUrl, credentials: provider });
    expect(failure).toBeUndefined();
    expect(stats.published).toBe(300);
    expect(issued.length).toBeGreaterThan(1);
    expect(new Set(tokens).size).toBeGreaterThan(1);
    expect(tokens.every((token) => issued.includes(token))).toBe(true);
  });

  it('fetches new credentials when SQS says the session token has expired, and sends again', async () => {
    const keys = hexKeys(60, `${kind}-revoked`);
    const queueUrl = await newQueue(kind);
    // The first token looks valid for an hour, but SQS no longer accepts it.
    const { issued, provider } = sessionCredentials(3_600_000);
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      failRequest: (headers) => (headers['x-amz-security-token'] === 'token-1' ? 403 : undefined),
    });
    const { stats, failure } = await publish(kind, keys, { queueUrl, credentials: provider });
    expect(failure).toBeUndefined();
    expect(proxy.counts.requestsFailed).toBeGreaterThan(0);
    expect(issued.length).toBeGreaterThanOrEqual(2);
    expect(stats).toMatchObject({ published: 60, failed: 0 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('stops at once when the queue does not exist, with the AWS error code', async () => {
    const missing = `${aws.emulator.endpoint}/000000000000/senders-${kind}-missing`;
    const { stats, failure } = await publish(kind, hexKeys(30, `${kind}-missing`), { queueUrl: missing });
    expect(failure).toBeInstanceOf(PublishAbortedError);
    expect((failure as Error).message).toMatch(/SendMessageBatch to .+-missing failed: QueueDoesNotExist: .+ \(HTTP 400\)/);
    expect(stats).toMatchObject({ published: 0, failed: 30 });
  });

  it('sends message groups and deduplication ids to a FIFO queue', async () => {
    const keys = hexKeys(120, `${kind}-fifo`);
    const queueUrl = await newQueue(kind, true);
    // A FIFO queue refuses entries without a group id; the second run is dropped by deduplication.
    for (let run = 0; run < 2; run += 1) {
      const { stats, failure } = await publish(kind, keys, { queueUrl });
      expect(failure).toBeUndefined();
      expect(stats.published).toBe(120);
    }
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });
});
