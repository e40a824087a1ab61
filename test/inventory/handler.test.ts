import type { S3Event } from 'aws-lambda';
import { partTaskOf } from '../support/inventory-run.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import { writeInventoryReport } from '../../lib/local/report-writer.ts';
import { runStatus } from '../../lib/run/report.ts';
import { eventBridgeObjectCreated, objectCreatedEvent } from '../../lib/inventory/s3-event.ts';
import { encodeS3Key } from '../../lib/core/key-encoding.ts';
import type { S3Location } from '../../lib/core/types.ts';
import { bucketKeys, useEmulator } from '../support/emulator.ts';
import { createAwsClients } from '../../lib/core/aws-clients.ts';
import { fetchManifest } from '../../lib/inventory/manifest.ts';

const aws = useEmulator();
let handler: typeof import('../../handlers/inventory.ts').handler;
let workQueueUrl: string;

beforeAll(async () => {
  await aws.createBucket('handler-inventory');
  await aws.createBucket('handler-adopted');
  workQueueUrl = await aws.createQueue('handler-work');
  process.env.WORK_QUEUE_URL = workQueueUrl;
  // As the stack sets them: its own bucket keeps the state of runs of other buckets' reports.
  process.env.RUN_STATE_BUCKET = 'handler-inventory';
  process.env.RUN_STATE_PREFIX = 'inventory/_adopted/';
  process.env.ACCEPT_SOURCE_BUCKETS = 'handler-source, adopted-source';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../handlers/inventory.ts'));
});

async function report(prefix: string, keys: string[], sourceBucket = 'handler-source', bucket = 'handler-inventory'): Promise<S3Location> {
  const rows = keys.map((key) => ({ key, size: 1, lastModified: new Date(), etag: 'e' }));
  const written = await writeInventoryReport(aws.s3, {
    sourceBucket,
    destinationBucket: bucket,
    prefix,
    configId: 'daily',
    rows,
    rowsPerFile: 2,
  });
  return written.manifest;
}

describe('inventory handler (fan-out)', () => {
  it('claims each manifest of the event and queues one task per data file; other records are ignored', async () => {
    const first = await report('reports', ['a.jpg', 'b.jpg', 'c.jpg']);
    const second = await report('my reports', ['d e.jpg']);
    const checksum = { ...first, key: first.key.replace('manifest.json', 'manifest.checksum') };
    const event: S3Event = { Records: [first, checksum, second].flatMap((location) => objectCreatedEvent(location, 1).Records) };
    expect(event.Records[2]?.s3.object.key).toMatch(/^my\+reports\//);

    const { runs } = await handler(event);
    expect(runs).toEqual([
      { manifest: `s3://${first.bucket}/${first.key}`, sourceBucket: 'handler-source', parts: 2, status: 'started' },
      { manifest: `s3://${second.bucket}/${second.key}`, sourceBucket: 'handler-source', parts: 1, status: 'started' },
    ]);
    const tasks = (await aws.drain(workQueueUrl)).map(partTaskOf);
    expect(tasks.map((task) => [task.manifest.key, task.part, task.parts, task.startRow, task.sequence]).sort()).toEqual(
      [
        [first.key, 0, 2, 0, 0],
        [first.key, 1, 2, 0, 0],
        [second.key, 0, 1, 0, 0],
      ].sort(),
    );
    expect((await runStatus(aws.s3, first)).state).toBe('running');
  });

  it('starts nothing for a second delivery of the same event, even at the same moment', async () => {
    const manifest = await report('twice', ['x.jpg', 'y.jpg', 'z.jpg']);
    const deliveries = await Promise.all([handler(objectCreatedEvent(manifest, 1)), handler(objectCreatedEvent(manifest, 1))]);
    expect(deliveries.map(({ runs }) => runs[0]?.status).sort()).toEqual(['duplicate', 'started']);
    expect((await handler(objectCreatedEvent(manifest, 1))).runs[0]?.status).toBe('duplicate');
    expect(await aws.drain(workQueueUrl)).toHaveLength(2);
  });

  it('refuses a manifest that does not exist by name, without an error that Lambda would retry for nothing', async () => {
    const event = objectCreatedEvent({ bucket: 'handler-inventory', key: 'gone/handler-source/daily/2026-01-01T00-00Z/manifest.json' }, 1);
    expect(await handler(event)).toEqual({
      runs: [],
      refused: [
        {
          manifest: 's3://handler-inventory/gone/handler-source/daily/2026-01-01T00-00Z/manifest.json',
          error: expect.stringMatching(/could not be read: NoSuchKey/),
        },
      ],
    });
  });

  it('marks a manifest read that got no answer as transient, which the handler throws for Lambda to retry', async () => {
    const s3 = createAwsClients({ concurrency: 1, endpointUrl: 'http://127.0.0.1:1' }).s3;
    const read = fetchManifest(s3, { bucket: 'b', key: 'p/b/c/2026-01-01T00-00Z/manifest.json' });
    await expect(read).rejects.toMatchObject({ transient: true, message: expect.stringMatching(/could not be read: .*ECONNREFUSED/) });
  });

  it('rejects an event that is not an S3 notification', async () => {
    await expect(handler({} as S3Event)).rejects.toThrow(InvalidArgumentError);
  });

  it('names the key of a record that is not URL-encoded as S3 encodes keys', async () => {
    const event = objectCreatedEvent({ bucket: 'handler-inventory', key: 'x' }, 1);
    (event.Records[0] as S3Event['Records'][number]).s3.object.key = 'bad%zz/manifest.json';
    await expect(handler(event)).rejects.toThrow(InvalidArgumentError);
    await expect(handler(event)).rejects.toThrow('has a key that is not URL-encoded as S3 encodes keys: "bad%zz/manifest.json"');
  });

  it('starts one run for a manifest announced through EventBridge and as an S3 notification, its state in the stack bucket', async () => {
    const before = await bucketKeys(aws.s3, 'handler-adopted');
    const manifest = await report('team inventories+%', ['a b.jpg', 'c+d.jpg', 'é.jpg'], 'adopted-source', 'handler-adopted');
    const written = await bucketKeys(aws.s3, 'handler-adopted');
    const encoded = eventBridgeObjectCreated(manifest, 1);
    encoded.detail.object.key = encodeS3Key(manifest.key);
    const deliveries = [eventBridgeObjectCreated(manifest, 1), objectCreatedEvent(manifest, 1), encoded];
    const runs = [];
    for (const delivery of deliveries) runs.push(...(await handler(delivery)).runs);
    expect(runs.map((run) => [run.manifest, run.status])).toEqual([
      [`s3://handler-adopted/${manifest.key}`, 'started'],
      [`s3://handler-adopted/${manifest.key}`, 'duplicate'],
      [`s3://handler-adopted/${manifest.key}`, 'duplicate'],
    ]);
    const tasks = (await aws.drain(workQueueUrl)).map(partTaskOf);
    expect(tasks).toHaveLength(2);
    const folder = `inventory/_adopted/handler-adopted/${manifest.key.replace(/manifest\.json$/, '')}s3-to-sqs/`;
    expect(tasks[0]?.run).toEqual({ bucket: 'handler-inventory', prefix: folder });
    expect(await bucketKeys(aws.s3, 'handler-inventory', folder)).toEqual([`${folder}claim.json`]);
    expect(written).toEqual(await bucketKeys(aws.s3, 'handler-adopted'));
    expect(written.length).toBeGreaterThan(before.length);
    const store = { bucket: 'handler-inventory', prefix: 'inventory/_adopted/' };
    expect((await runStatus(aws.s3, manifest, store)).state).toBe('running');
  });

  it('starts nothing for a data file, or for a report of a source bucket it does not accept', async () => {
    const accepted = await report('filtered', ['x.jpg'], 'adopted-source', 'handler-adopted');
    const dataFile = { bucket: 'handler-adopted', key: accepted.key.replace(/[^/]+\/manifest\.json$/, 'data/0.csv.gz') };
    expect((await handler(eventBridgeObjectCreated(dataFile, 1))).runs).toEqual([]);
    const other = await report('filtered', ['y.jpg'], 'other-source', 'handler-adopted');
    expect((await handler(eventBridgeObjectCreated(other, 1))).runs).toEqual([]);
    expect(await aws.drain(workQueueUrl)).toHaveLength(0);
  });
});
