import { beforeAll, describe, expect, it } from 'vitest';
import { writeInventoryReport, type InventoryRow } from '../../lib/local/report-writer.ts';
import { loadSelection, type Selection } from '../../lib/core/config.ts';
import type { S3Location } from '../../lib/core/types.ts';
import type { RunStateStore } from '../../lib/run/state.ts';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { startInventoryRun } from '../../lib/run/fan-out.ts';
import { runPartTask } from '../../lib/run/part-worker.ts';
import { bucketKeys, keysOf, silentLog, useEmulator } from '../support/emulator.ts';
import { createWorkQueues, runReport, workerContext, type WorkQueues, partTaskOf } from '../support/inventory-run.ts';

const aws = useEmulator();
const INVENTORY = 'changed-inventory';
const HOUR = 3_600_000;
const changed: Selection = { ...loadSelection({}), publishMode: 'changed', changedMarginHours: 24 };
let queues: WorkQueues;
let configs = 0;

beforeAll(async () => {
  await aws.createBucket(INVENTORY);
  queues = await createWorkQueues(aws, 'changed-work');
});

const row = (key: string, lastModified: Date): InventoryRow => ({ key, size: 1, lastModified, etag: 'e' });
const report = async (configId: string, rows: InventoryRow[], createdAt: Date, bucket = INVENTORY): Promise<S3Location> =>
  (
    await writeInventoryReport(aws.s3, {
      sourceBucket: 'changed-source',
      destinationBucket: bucket,
      prefix: 'inventory',
      configId,
      rows,
      rowsPerFile: 100,
      createdAt,
    })
  ).manifest;
const run = async (manifest: S3Location, selection = changed, stateStore?: RunStateStore) => {
  const target = await aws.createQueue(`changed-target-${(configs += 1)}`);
  const { report: result } = await runReport(aws, queues, manifest, target, {
    workers: 2,
    budgetMs: 60_000,
    selection,
    ...(stateStore && { stateStore }),
  });
  return { result, keys: keysOf(await aws.drain(target)) };
};

describe('changed mode: only what changed since the last complete run', () => {
  it('publishes everything without a baseline, then each change at least once and nothing older than the margin', async () => {
    const config = `daily-${(configs += 1)}`;
    const firstScan = new Date(Date.UTC(2026, 10, 20, 0, 0));
    const secondScan = new Date(firstScan.getTime() + 24 * HOUR);
    const at = (offsetMs: number) => new Date(firstScan.getTime() + offsetMs);
    const day1 = [
      row('old.jpg', at(-72 * HOUR)),
      row('just-outside.jpg', at(-24 * HOUR - 1_000)),
      row('edge.jpg', at(-24 * HOUR)),
      row('second-before.jpg', at(-1_000)),
    ];
    const first = await run(await report(config, day1, firstScan));
    expect(first.result).toMatchObject({ status: 'complete', baseline: 'none', totals: { published: 4 } });

    const day2 = [
      ...day1,
      // Written while the first scan ran: maybe missing from the first report.
      row('during-scan.jpg', at(10 * 60_000)),
      row('new.jpg', at(20 * HOUR)),
    ];
    const second = await run(await report(config, day2, secondScan));
    expect(second.result).toMatchObject({
      status: 'complete',
      baseline: { scanStart: firstScan.toISOString(), changedSince: new Date(firstScan.getTime() - 24 * HOUR).toISOString() },
      totals: { published: 4, skipped: 2, skippedByReason: { unchanged: 2 } },
    });
    // At or after the scan start less the margin: published again (twice, never zero times).
    expect(second.keys).toEqual(['during-scan.jpg', 'edge.jpg', 'new.jpg', 'second-before.jpg']);
  });

  it('finds the baseline of an adopted inventory in the stack bucket, and writes nothing beside the reports', async () => {
    const adopted = 'changed-adopted';
    await aws.createBucket(adopted);
    const store = { bucket: INVENTORY, prefix: 'inventory/_adopted/' };
    const firstScan = new Date(Date.UTC(2026, 10, 1, 0, 0));
    const old = row('old.jpg', new Date(firstScan.getTime() - 72 * HOUR));
    const first = await run(await report('adopted', [old], firstScan, adopted), changed, store);
    expect(first.result).toMatchObject({ status: 'complete', baseline: 'none' });
    const secondScan = new Date(firstScan.getTime() + 24 * HOUR);
    const second = await run(await report('adopted', [old, row('new.jpg', secondScan)], secondScan, adopted), changed, store);
    expect(second.result).toMatchObject({ status: 'complete', baseline: { scanStart: firstScan.toISOString() }, totals: { published: 1 } });
    expect(second.keys).toEqual(['new.jpg']);
    // Only the reports the test wrote: every run's state is in the stack bucket.
    expect((await bucketKeys(aws.s3, adopted)).filter((key) => key.includes('/s3-to-sqs/'))).toEqual([]);
    expect(
      (await bucketKeys(aws.s3, INVENTORY, 'inventory/_adopted/changed-adopted/')).filter((key) => key.endsWith('/report.json')),
    ).toHaveLength(2);
  });

  it('falls back past a failed run to the last complete one, and names the baseline', async () => {
    const config = `daily-${(configs += 1)}`;
    const day = (n: number) => new Date(Date.UTC(2026, 10, 10 + n, 0, 0));
    const old = row('a.jpg', new Date(day(0).getTime() - 72 * HOUR));
    const complete = await report(config, [old], day(1));
    await run(complete);
    // A later report whose run never completed: no report.json, so not a baseline.
    await report(config, [old, row('b.jpg', day(1))], day(2));
    const latest = await run(await report(config, [old, row('b.jpg', day(1)), row('c.jpg', day(2))], day(3)));
    expect(latest.result.baseline).toMatchObject({ manifest: `s3://${complete.bucket}/${complete.key}` });
    expect(latest.keys).toEqual(['b.jpg', 'c.jpg']);
  });

  it('keeps to the time budget while it skips unchanged rows: a spent budget stops it after one row', async () => {
    const config = `daily-${(configs += 1)}`;
    const firstScan = new Date(Date.UTC(2026, 10, 1));
    const old = Array.from({ length: 2_000 }, (_, index) => row(`old-${index}.jpg`, new Date(firstScan.getTime() - 72 * HOUR)));
    await run(await report(config, old.slice(0, 10), firstScan));
    const manifest = await report(
      config,
      [...old, row('new.jpg', new Date(firstScan.getTime() + HOUR))],
      new Date(firstScan.getTime() + 24 * HOUR),
    );
    const taskQueues = await createWorkQueues(aws, `changed-budget-${configs}`);
    await startInventoryRun(manifest, { s3: aws.s3, ...taskQueues, log: silentLog, deadline: Date.now() + 60_000, selection: changed });
    const { Messages: [message] = [] } = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: taskQueues.workQueueUrl }));
    const context = workerContext(aws, taskQueues, await aws.createQueue(`changed-target-${(configs += 1)}`), {});
    // No row would be yielded before the last one: only a budget checked on skipped rows stops it.
    const outcome = await runPartTask(partTaskOf(message?.Body ?? ''), message?.MessageId ?? '', context, AbortSignal.abort());
    expect(outcome).toMatchObject({ status: 'continued', rowsDone: 1, published: 0 });
  });

  it('refuses a report without LastModifiedDate, naming the column and the inventory configuration', async () => {
    const manifest = (
      await writeInventoryReport(aws.s3, {
        sourceBucket: 'changed-source',
        destinationBucket: INVENTORY,
        prefix: 'inventory',
        configId: 'no-dates',
        rows: [row('x.jpg', new Date())],
        rowsPerFile: 10,
        columns: ['Bucket', 'Key'],
      })
    ).manifest;
    await expect(run(manifest)).rejects.toThrow(
      /has no LastModifiedDate column \(for PUBLISH_MODE=changed\): add it to the optional fields of inventory configuration "no-dates" of bucket changed-source/,
    );
  });
});
