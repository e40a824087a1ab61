import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../lib/core/aws-clients.ts';
import type { S3Location } from '../../lib/core/types.ts';
import { createWorkQueue } from '../../lib/local/demo.ts';
import { type EmulatorProxy, startEmulatorProxy } from '../../lib/local/proxy.ts';
import { startInventoryRun } from '../../lib/run/fan-out.ts';
import { claimKey, getJson, runFolder } from '../../lib/run/state.ts';
import type { RunClaim } from '../../lib/run/types.ts';
import { putObject, silentLog, useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
const INVENTORY = 'fan-out-inventory';
let proxy: EmulatorProxy | undefined;

beforeAll(async () => {
  await aws.createBucket(INVENTORY);
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/** A manifest of `files` data files (which need not exist to be fanned out). */
async function manifestOf(files: number, config: string): Promise<S3Location> {
  const base = `inventory/fan-source/${config}`;
  const manifest = {
    sourceBucket: 'fan-source',
    destinationBucket: `arn:aws:s3:::${INVENTORY}`,
    version: '2016-11-30',
    creationTimestamp: '1795838400000',
    fileFormat: 'CSV',
    fileSchema: 'Bucket, Key',
    files: Array.from({ length: files }, (_, index) => ({ key: `${base}/data/${index}.csv.gz`, size: 20, MD5checksum: '0'.repeat(32) })),
  };
  const key = `${base}/2026-12-01T00-00Z/manifest.json`;
  await putObject(aws.s3, INVENTORY, key, JSON.stringify(manifest));
  return { bucket: INVENTORY, key };
}

/** The fan-out's clients, through `proxy` so that its requests are counted. */
function fanOutContext(endpoint: string, workQueueUrl: string) {
  const { s3 } = createAwsClients({ concurrency: 16, endpointUrl: endpoint });
  const work = new SQSClient({ endpoint, maxAttempts: 3 });
  return { s3, work, workQueueUrl, log: silentLog, deadline: Date.now() + 600_000 };
}

async function depth(queueUrl: string): Promise<number> {
  const { Attributes } = await aws.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages);
}

describe('the fan-out of a report of many data files', () => {
  it('queues 100,000 tasks ten to a call, with a bounded number of state requests', async () => {
    const manifest = await manifestOf(100_000, 'large');
    const { workQueueUrl } = await createWorkQueue(aws.sqs, 'fan-out-large', 3);
    proxy = await startEmulatorProxy(aws.emulator.endpoint);
    const summary = await startInventoryRun(manifest, fanOutContext(proxy.endpoint, workQueueUrl));
    expect(summary).toMatchObject({ status: 'started', parts: 100_000 });
    const { counts } = proxy;
    expect(counts.entriesSent).toBe(100_000);
    expect(counts.sendMessageBatchCalls).toBe(10_000);
    expect(counts.batches.every((batch) => batch.entries === 10)).toBe(true);
    // The manifest, the claim, its progress every 5,000 parts and its last state: 23 requests for 100,000 parts.
    const stateRequests = counts.requests - counts.sendMessageBatchCalls;
    expect(stateRequests).toBeLessThanOrEqual(3 + 100_000 / 5_000);
    expect(await depth(workQueueUrl)).toBe(100_000);
    expect((await getJson<RunClaim>(aws.s3, INVENTORY, claimKey(runFolder(manifest))))?.value).toMatchObject({
      status: 'queued',
      queued: 100_000,
    });
  }, 120_000);

  it('resumes where it stopped, not at part 0, when the invocation that queued failed', async () => {
    const manifest = await manifestOf(20_000, 'resumed');
    const { workQueueUrl } = await createWorkQueue(aws.sqs, 'fan-out-resumed', 3);
    // SQS fails every call after the first 1,200 (12,000 tasks): the first invocation gives up.
    let calls = 0;
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { failRequest: () => ((calls += 1) > 1_200 ? 500 : undefined) });
    await expect(startInventoryRun(manifest, fanOutContext(proxy.endpoint, workQueueUrl))).rejects.toThrow();
    const stopped = (await getJson<RunClaim>(aws.s3, INVENTORY, claimKey(runFolder(manifest))))?.value;
    expect(stopped).toMatchObject({ status: 'released', queued: 10_000 });
    await proxy.stop();

    proxy = await startEmulatorProxy(aws.emulator.endpoint);
    expect(await startInventoryRun(manifest, fanOutContext(proxy.endpoint, workQueueUrl))).toMatchObject({ status: 'resumed' });
    expect(proxy.counts.entriesSent).toBe(10_000);
    // The window that failed midway was partly queued: those tasks are on the queue twice, which leases make harmless.
    expect(await depth(workQueueUrl)).toBeGreaterThanOrEqual(20_000);
    expect(await depth(workQueueUrl)).toBeLessThanOrEqual(20_000 + 2_000);
  }, 120_000);
});
