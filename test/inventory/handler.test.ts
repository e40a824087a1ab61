import type { S3Event } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import { writeInventoryReport } from '../../lib/local/report-writer.ts';
import { parsePartTask } from '../../lib/run/part-task.ts';
import { runStatus } from '../../lib/run/report.ts';
import { objectCreatedEvent } from '../../lib/inventory/s3-event.ts';
import type { S3Location } from '../../lib/core/types.ts';
import { useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
let handler: typeof import('../../handlers/inventory.ts').handler;
let workQueueUrl: string;

beforeAll(async () => {
  await aws.createBucket('handler-inventory');
  workQueueUrl = await aws.createQueue('handler-work');
  process.env.WORK_QUEUE_URL = workQueueUrl;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../handlers/inventory.ts'));
});

async function report(prefix: string, keys: string[]): Promise<S3Location> {
  const rows = keys.map((key) => ({ key, size: 1, lastModified: new Date(), etag: 'e' }));
  const written = await writeInventoryReport(aws.s3, {
    sourceBucket: 'handler-source',
    destinationBucket: 'handler-inventory',
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
    const tasks = (await aws.drain(workQueueUrl)).map(parsePartTask);
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

  it('throws when a manifest cannot be read, so that Lambda retries the event', async () => {
    const event = objectCreatedEvent({ bucket: 'handler-inventory', key: 'gone/manifest.json' }, 1);
    await expect(handler(event)).rejects.toThrow(/manifest s3:\/\/handler-inventory\/gone\/manifest.json could not be read/);
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
});
