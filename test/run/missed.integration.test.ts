import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSelection, type Selection } from '../../lib/core/config.ts';
import type { S3Location } from '../../lib/core/types.ts';
import { encodeRecord, recordHash } from '../../lib/live/live-record.ts';
import { type LiveRecordStore, recordHour } from '../../lib/live/live-window.ts';
import { type InventoryRow, writeInventoryReport } from '../../lib/local/report-writer.ts';
import { keysOf, useEmulator } from '../support/emulator.ts';
import { createWorkQueues, runReport, type WorkQueues } from '../support/inventory-run.ts';

const aws = useEmulator();
const INVENTORY = 'missed-inventory';
const SOURCE = 'missed-source';
const HOUR = 3_600_000;
const missed: Selection = { ...loadSelection({ PUBLISH_MODE: 'missed' }), changedMarginHours: 1 };
let queues: WorkQueues;
let runs = 0;

beforeAll(async () => {
  await aws.createBucket(INVENTORY);
  queues = await createWorkQueues(aws, 'missed-work');
});

const report = async (configId: string, rows: InventoryRow[], createdAt: Date): Promise<S3Location> =>
  (
    await writeInventoryReport(aws.s3, {
      sourceBucket: SOURCE,
      destinationBucket: INVENTORY,
      prefix: 'inventory',
      configId,
      rows,
      rowsPerFile: 40,
      createdAt,
      columns: ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag'],
    })
  ).manifest;

const run = async (manifest: S3Location, liveRecords: LiveRecordStore) => {
  const target = await aws.createQueue(`missed-target-${(runs += 1)}`);
  const { report: result } = await runReport(aws, queues, manifest, target, {
    workers: 2,
    budgetMs: 60_000,
    selection: missed,
    liveRecords,
  });
  return { result, keys: keysOf(await aws.drain(target)) };
};

/** What the live path would have written: one record object of these keys' hashes, in the hour of `at`. */
async function recordLive(store: LiveRecordStore, rows: InventoryRow[], at: Date, name: string): Promise<void> {
  const hour = recordHour(at);
  const body = encodeRecord(rows.map((row) => recordHash(SOURCE, row.key, row.etag ?? '')));
  await aws.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: `${store.prefix}${SOURCE}/${hour}/${name}.bin`, Body: body }));
}

/** Day 1: the report of a bucket of one old object, run to completion: the baseline of day 2. */
async function dayOne(config: string, store: LiveRecordStore): Promise<{ old: InventoryRow; scan: Date }> {
  const scan = new Date(Date.now() - 6 * HOUR);
  const old: InventoryRow = { key: 'old.jpg', size: 1, lastModified: new Date(scan.getTime() - 48 * HOUR), etag: 'old' };
  const first = await run(await report(config, [old], scan), store);
  expect(first.result).toMatchObject({ status: 'complete', baseline: 'none', totals: { published: 1 } });
  return { old, scan };
}

describe('missed mode: what changed since the last complete run, less what the live path published', () => {
  it('publishes exactly the changed objects the live record lacks, or holds with another ETag', async () => {
    const store = { bucket: INVENTORY, prefix: 'inventory/_live/' };
    const { old, scan } = await dayOne('daily-exact', store);
    const written = new Date(scan.getTime() + 2 * HOUR);
    const created = Array.from(
      { length: 100 },
      (_, index): InventoryRow => ({ key: `new/${index}.jpg`, size: 1, lastModified: written, etag: `e${index}` }),
    );
    // Published live: 70 of them as they are now, 10 of which later rewritten (another ETag in the report).
    await recordLive(store, created.slice(0, 40), written, 'a');
    await recordLive(store, created.slice(40, 70), new Date(written.getTime() + HOUR), 'b');
    const rewritten = created.map((row, index) => (index >= 60 && index < 70 ? { ...row, etag: `rewritten-${index}` } : row));
    const second = await run(await report('daily-exact', [old, ...rewritten], new Date()), store);
    const expected = rewritten.slice(60).map((row) => row.key);
    expect(second.keys).toEqual([...expected].sort());
    expect(second.result).toMatchObject({
      status: 'complete',
      liveRecord: { keys: 70, objects: 2 },
      totals: { published: 40, skippedByReason: { publishedLive: 60, unchanged: 1 } },
    });
  });

  it('publishes every changed object, and says so, when the live record of the window is past its bound', async () => {
    const store = { bucket: INVENTORY, prefix: 'inventory/_live-bounded/', bound: 50 };
    const { old, scan } = await dayOne('daily-bounded', store);
    const written = new Date(scan.getTime() + 2 * HOUR);
    const created = Array.from(
      { length: 80 },
      (_, index): InventoryRow => ({ key: `new/${index}.jpg`, size: 1, lastModified: written, etag: `e${index}` }),
    );
    await recordLive(store, created.slice(0, 40), written, 'a');
    await recordLive(store, created.slice(40, 80), written, 'b');
    const second = await run(await report('daily-bounded', [old, ...created], new Date()), store);
    expect(second.keys).toHaveLength(80);
    expect(second.result).toMatchObject({
      status: 'complete',
      liveRecord: { keys: 80, objects: 2, overBound: true },
      totals: { published: 80, skippedByReason: { publishedLive: 0 } },
    });
  });

  it('refuses a report without the ETag column before anything is queued, naming the mode', async () => {
    const manifest = (
      await writeInventoryReport(aws.s3, {
        sourceBucket: SOURCE,
        destinationBucket: INVENTORY,
        prefix: 'inventory',
        configId: 'daily-no-etag',
        rows: [{ key: 'a', size: 1, lastModified: new Date(), etag: 'e' }],
        rowsPerFile: 10,
        columns: ['Bucket', 'Key', 'Size', 'LastModifiedDate'],
      })
    ).manifest;
    await expect(run(manifest, { bucket: INVENTORY, prefix: 'inventory/_live/' })).rejects.toThrow(
      /no ETag column \(for PUBLISH_MODE=missed\)/,
    );
  });
});
