import type { S3Event } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../lib/errors.ts';
import { writeInventoryReport } from '../lib/inventory-writer.ts';
import { objectCreatedEvent } from '../lib/s3-event.ts';
import type { S3Location } from '../lib/types.ts';
import { keysOf, useEmulator } from './support/emulator.ts';

const aws = useEmulator();
let handler: typeof import('../handlers/inventory.ts').handler;
let queueUrl: string;

beforeAll(async () => {
  await aws.createBucket('handler-inventory');
  queueUrl = await aws.createQueue('handler-objects');
  process.env.QUEUE_URL = queueUrl;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../handlers/inventory.ts'));
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

describe('inventory handler', () => {
  it('publishes the report of each manifest record and ignores other records', async () => {
    const first = await report('reports', ['a.jpg', 'b.jpg', 'c.jpg']);
    const second = await report('my reports', ['d e.jpg']);
    const checksum = { ...first, key: first.key.replace('manifest.json', 'manifest.checksum') };
    const event: S3Event = {
      Records: [first, checksum, second].flatMap((location) => objectCreatedEvent(location, 1).Records),
    };
    expect(event.Records[2]?.s3.object.key).toMatch(/^my\+reports\//);
    const { reports } = await handler(event);
    expect(reports.map((summary) => [summary.manifest, summary.published])).toEqual([
      [`s3://${first.bucket}/${first.key}`, 3],
      [`s3://${second.bucket}/${second.key}`, 1],
    ]);
    expect(reports[0]).toMatchObject({ dataFiles: 2, rowsRead: 3, failed: 0, skipped: 0 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(['a.jpg', 'b.jpg', 'c.jpg', 'd e.jpg']);
  });

  it('throws when a report fails, so that Lambda retries the event', async () => {
    const event = objectCreatedEvent({ bucket: 'handler-inventory', key: 'gone/manifest.json' }, 1);
    await expect(handler(event)).rejects.toThrow(/manifest s3:\/\/handler-inventory\/gone\/manifest.json could not be read/);
  });

  it('rejects an event that is not an S3 notification', async () => {
    await expect(handler({} as S3Event)).rejects.toThrow(InvalidArgumentError);
  });
});
