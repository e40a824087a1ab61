import { createHash } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../../lib/core/listing.ts';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { drainQueue } from '../../lib/local/queue-drain.ts';
import { afterAll, beforeAll } from 'vitest';
import { createAwsClients, type AwsClients } from '../../lib/core/aws-clients.ts';
import { loadConfig, type PipelineConfig } from '../../lib/core/config.ts';
import { emulatorEnvironment, startEmulator, type Emulator } from '../../lib/local/emulator.ts';
import { createFifoQueue } from '../../lib/local/demo.ts';
import { createPipelineContext, type PipelineContext } from '../../lib/publish/pipeline.ts';
import type { Log, ObjectRef } from '../../lib/core/types.ts';

/** `count` keys named as the bucket's objects are, `<sha256>.jpg`; `salt` keeps sets apart. */
export function hexKeys(count: number, salt = ''): string[] {
  return Array.from({ length: count }, (_, index) => `${createHash('sha256').update(`${salt}${index}`).digest('hex')}.jpg`);
}

/** The keys of a bucket under a prefix, in S3's listing order. */
export async function bucketKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of listObjects(s3, bucket, prefix)) keys.push(object.Key ?? '');
  return keys;
}

/** The keys of drained message bodies, sorted, to compare with what a bucket holds. */
export function keysOf(bodies: string[]): string[] {
  return bodies.map((body) => (JSON.parse(body) as ObjectRef).key).sort();
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

export interface TestEmulator extends AwsClients {
  emulator: Emulator;
  /** Clients and settings for a run against `endpoint` (the emulator, or a proxy before it). */
  context(queueUrl: string, overrides?: Partial<PipelineConfig>, endpoint?: string): PipelineContext;
  createBucket(name: string): Promise<string>;
  createQueue(name: string): Promise<string>;
  /** Receives and deletes every message, returning the bodies as sent. */
  drain(queueUrl: string): Promise<string[]>;
}

/** Starts an emulator for the test file, points the SDK at it, and stops it afterwards. */
export function useEmulator(): TestEmulator {
  const harness = {} as TestEmulator;
  beforeAll(async () => {
    const emulator = await startEmulator();
    Object.assign(process.env, emulatorEnvironment(emulator.endpoint));
    const clients = createAwsClients({ concurrency: 8, endpointUrl: emulator.endpoint });
    Object.assign(harness, clients, {
      emulator,
      context: (queueUrl: string, overrides: Partial<PipelineConfig> = {}, endpoint = emulator.endpoint) => {
        const config: PipelineConfig = { ...loadConfig({ QUEUE_URL: queueUrl }), concurrency: 8, endpointUrl: endpoint, ...overrides };
        // As loadSelection derives it: every source reads at least the fields its messages carry.
        config.readFields = [...new Set([...config.messageFields, ...(overrides.readFields ?? [])])];
        return createPipelineContext(config, silentLog);
      },
      createBucket: async (name: string) => {
        await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
        return name;
      },
      createQueue: async (name: string) =>
        name.endsWith('.fifo')
          ? createFifoQueue(clients.sqs, name)
          : ((await clients.sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string),
      drain: (queueUrl: string) => drainBodies(clients.sqs, queueUrl),
    });
  });
  afterAll(async () => {
    await harness.emulator?.stop();
  });
  return harness;
}

async function drainBodies(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  await drainQueue(sqs, queueUrl, (message) => bodies.push(message.Body ?? ''));
  return bodies;
}

export async function putObject(s3: AwsClients['s3'], bucket: string, key: string, body: string | Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}
