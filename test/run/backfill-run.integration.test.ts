import { describe, expect, it } from 'vitest';
import { runWorkersUntilRunsEnd } from '../../lib/local/event-source.ts';
import { type KeyShape, seedBucket } from '../../lib/local/sample-objects.ts';
import { startBackfillRun } from '../../lib/run/backfill-run.ts';
import { runBackfillStatus } from '../../lib/run/backfill-status.ts';
import { recordDeadLetters } from '../../lib/run/part-failure.ts';
import { runTaskBatch } from '../../lib/run/part-worker.ts';
import { rangeLeaseClaim, runRangeTask } from '../../lib/run/range-worker.ts';
import { RangeWork } from '../../lib/run/range-work.ts';
import { PartLease } from '../../lib/run/part-lease.ts';
import { setTimeout } from 'node:timers/promises';
import type { RangeTask } from '../../lib/run/range-task.ts';
import { backfillRunFolder, getJson, putJson, rangeCheckpointKey, type RunFolder } from '../../lib/run/state.ts';
import type { BackfillReport, RangeCheckpoint, RangeResult } from '../../lib/run/types.ts';
import { RunStats } from '../../lib/core/run-stats.ts';
import { listObjects } from '../../lib/core/listing.ts';
import { bucketKeys, keysOf, silentLog, useEmulator } from '../support/emulator.ts';
import { runCli } from '../support/run-cli.ts';
import { createWorkQueues, type WorkQueues, workerContext } from '../support/inventory-run.ts';

const aws = useEmulator();
const STATE = 'backfill-state';
let runs = 0;

interface FleetRun {
  report: BackfillReport;
  run: RunFolder;
  queued: string[];
  results: RangeResult[];
}

/** Plans a backfill run of `bucket` and runs `workers` workers on its ranges until its report. */
async function backfill(
  bucket: string,
  options: { workers?: number; budgetMs?: number; workerConcurrency?: number; prefix?: string; dryRun?: boolean } = {},
): Promise<FleetRun> {
  runs += 1;
  const { queues, queueUrl, run } = await planRun(bucket, `run-${runs}`, options);
  const [report] = await untilReport(queues, run, queueUrl, options);
  return { report: report as BackfillReport, run, queued: keysOf(await aws.drain(queueUrl)), results: await rangeResults(run) };
}

/** Plans a backfill run of `bucket` named `runId`, with queues of its own: its first tasks wait in the work queue. */
async function planRun(bucket: string, runId: string, plan: { prefix?: string; dryRun?: boolean; workerConcurrency?: number } = {}) {
  await aws.createBucket(STATE).catch(() => undefined);
  const queues = await createWorkQueues(aws, `backfill-work-${runId}`);
  const queueUrl = await aws.createQueue(`backfill-target-${runId}`);
  const store = { bucket: STATE, prefix: 'backfill/' };
  await startBackfillRun(
    { bucket, ...(plan.prefix !== undefined && { prefix: plan.prefix }), ...(plan.dryRun && { dryRun: true }) },
    { s3: aws.s3, ...queues, store, runId, workerConcurrency: plan.workerConcurrency ?? 4, log: silentLog },
  );
  return { queues, queueUrl, run: backfillRunFolder(store, bucket, runId) };
}

function untilReport(queues: WorkQueues, run: RunFolder, queueUrl: string, options: { workers?: number; budgetMs?: number }) {
  const context = workerContext(aws, queues, queueUrl, {});
  return runWorkersUntilRunsEnd<BackfillReport>({
    s3: aws.s3,
    sqs: aws.sqs,
    runs: [run],
    ...queues,
    workers: options.workers ?? 4,
    worker: (event) => runTaskBatch(event, context, () => options.budgetMs ?? 60_000),
    deadLetter: (event) => recordDeadLetters(event, aws.s3, silentLog),
    retryDelaySeconds: 0,
    log: silentLog,
  });
}

async function rangeResults(run: RunFolder): Promise<RangeResult[]> {
  const results: RangeResult[] = [];
  for await (const object of listObjects(aws.s3, run.bucket, `${run.prefix}finished/`)) {
    results.push((await getJson<RangeResult>(aws.s3, run.bucket, object.Key ?? ''))?.value as RangeResult);
  }
  return results;
}

async function seeded(name: string, count: number, shape?: KeyShape): Promise<string[]> {
  await aws.createBucket(name);
  await seedBucket(aws.s3, name, { count, ...(shape && { shape }) });
  return bucketKeys(aws.s3, name);
}

describe('a backfill run of the workers', () => {
  // Enough keys that the planned ranges holding them fill a page of 1,000, and split.
  it.each([
    ['hex', 'hex' as const, 17_000],
    ['deep-prefix', 'deep-prefix' as const, 6_000],
    ['dates', 'dates' as const, 6_000],
  ])(
    'publishes every key of a bucket of %s keys exactly once, its large ranges split by the workers',
    async (name, shape, count) => {
      const keys = await seeded(`fleet-${name}`, count, shape);
      const { report, queued, results } = await backfill(`fleet-${name}`);
      expect(queued).toEqual(keys);
      expect(report).toMatchObject({ status: 'complete', totals: { rowsRead: count, published: count, failed: 0 } });
      expect(report.ranges).toBe(results.length);
      expect(report.ranges).toBeGreaterThan(17);
      expect(report.rangesWithKeys).toBeGreaterThan(4);
    },
    120_000,
  );

  it('publishes nothing from an empty bucket, one listing call per planned range, and completes', async () => {
    await aws.createBucket('fleet-empty');
    const { report, queued } = await backfill('fleet-empty');
    expect(queued).toEqual([]);
    expect(report).toMatchObject({ status: 'complete', ranges: 17, rangesWithKeys: 0, totals: { published: 0, rowsRead: 0 } });
  });

  it('publishes a bucket of one key', async () => {
    await aws.createBucket('fleet-one');
    await aws.s3.send(new (await import('@aws-sdk/client-s3')).PutObjectCommand({ Bucket: 'fleet-one', Key: 'only', Body: 'x' }));
    const { report, queued } = await backfill('fleet-one');
    expect(queued).toEqual(['only']);
    expect(report).toMatchObject({ status: 'complete', ranges: 17, rangesWithKeys: 1, totals: { published: 1 } });
  });

  it('is shown by the CLI and the status function from its state location', async () => {
    await seeded('fleet-status', 30);
    const { run } = await backfill('fleet-status');
    const location = `s3://${run.bucket}/${run.prefix}`;
    const shown = await runCli(['status', location]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`backfill run-${runs} of s3://fleet-status/: complete`);
    // The first of the 17 planned ranges, ("", "0"], holds no `<sha256>` key.
    expect(shown.stdout).toContain('Ranges done 17, in flight 0, queued 0 (16 held keys); published 30, skipped 0, failed 0');
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const { handler } = await import('../../handlers/status.ts');
    expect(await handler({ run: location })).toMatchObject({ kind: 'backfill', state: 'complete', totals: { published: 30 } });
    await expect(handler({ run: 's3://x/y' })).rejects.toThrow('"run" must be the stateLocation the backfill function returned');
  });

  it('continues ranges out of time in new tasks: each key once, under a prefix only', async () => {
    const keys = await seeded('fleet-continued', 3_000, 'deep-prefix');
    const prefix = keys[0]?.slice(0, keys[0].lastIndexOf('/') + 1) ?? '';
    const { report, queued } = await backfill('fleet-continued', { budgetMs: 30, prefix });
    expect(queued).toEqual(keys.filter((key) => key.startsWith(prefix)));
    expect(report.totals.continuations).toBeGreaterThan(0);
    expect(report).toMatchObject({ status: 'complete', prefix });
  }, 120_000);

  it('lists and counts in a dry run and sends nothing', async () => {
    await seeded('fleet-dry', 500);
    const { report, queued } = await backfill('fleet-dry', { dryRun: true });
    expect(queued).toEqual([]);
    expect(report).toMatchObject({ status: 'complete', dryRun: true, totals: { published: 500 } });
    // Batches of ten, each range's last one short: what a real run would send.
    expect(report.totals.sends).toBeGreaterThanOrEqual(50);
    expect(report.totals.sends).toBeLessThanOrEqual(50 + report.rangesWithKeys);
  });

  it('resumes a range stopped at a split boundary: the range ends there, its piece lists the rest, each key once', async () => {
    const keys = await seeded('fleet-boundary', 300);
    const { queues, queueUrl, run } = await planRun('fleet-boundary', 'boundary');
    await aws.drain(queues.workQueueUrl);
    // Range 8 ("7", "8"] was split at "7f" and had settled every key up to that point when it stopped.
    const boundary = '7f';
    const before = keys.filter((key) => key > '7' && key <= boundary);
    const after = keys.filter((key) => key > boundary && key <= '8');
    const now = new Date().toISOString();
    const stats = new RunStats();
    stats.rowsRead = before.length;
    stats.published = before.length;
    const checkpoint: RangeCheckpoint = {
      id: '8',
      range: { startAfter: '7', end: boundary },
      settledThrough: boundary,
      keysSettled: before.length,
      children: 1,
      budget: 4,
      owner: '',
      sequence: 0,
      handedOver: true,
      counters: stats.counters(),
      continuations: 1,
      startedAt: now,
      updatedAt: now,
    };
    await putJson(aws.s3, STATE, rangeCheckpointKey(run, '8'), checkpoint);
    const base: RangeTask = {
      kind: 'range',
      run,
      runId: 'boundary',
      sourceBucket: 'fleet-boundary',
      prefix: '',
      id: '8',
      range: { startAfter: '7', end: '8' },
      budget: 8,
      sequence: 1,
    };
    const context = workerContext(aws, queues, queueUrl, {});
    expect(await runRangeTask(base, 'continuation', context)).toMatchObject({ status: 'done', published: 0 });
    const piece: RangeTask = { ...base, id: '8-1', range: { startAfter: boundary, end: '8' }, budget: 4, sequence: 0 };
    expect(await runRangeTask(piece, 'piece', context)).toMatchObject({ status: 'done', published: after.length });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(after);
    const status = await runBackfillStatus(aws.s3, run);
    expect(status).toMatchObject({ state: 'running', ranges: { done: 2, queued: 16 } });
    expect(status.totals.published).toBe(before.length + after.length);
    expect(status.totals.rowsRead).toBe(before.length + after.length);
  });

  it('stops a worker whose range was taken over before it splits: it queues no piece, and the new holder publishes every key', async () => {
    const keys = await seeded('fleet-taken', 3_000, 'deep-prefix');
    const { queues, queueUrl } = await planRun('fleet-taken', 'taken');
    const planned = (await aws.drain(queues.workQueueUrl)).map((body) => JSON.parse(body) as RangeTask);
    const first = keys[0] ?? '';
    const task = planned.find(
      ({ range }) => (range.startAfter ?? '') < first && (range.end === undefined || first <= range.end),
    ) as RangeTask;
    const context = workerContext(aws, queues, queueUrl, {});
    const holder = { leaseMs: 60_000, log: silentLog };
    const stale = (await PartLease.take(aws.s3, task.run, rangeLeaseClaim(task), { ...holder, owner: 'a' })) as PartLease<RangeCheckpoint>;
    // Worker b finds a's checkpoint silent for longer than its lease, and takes the range over.
    await setTimeout(5);
    expect(await PartLease.take(aws.s3, task.run, rangeLeaseClaim(task), { ...holder, leaseMs: 1, owner: 'b' })).toBeInstanceOf(PartLease);
    const work = new RangeWork(task, stale, context);
    await work.run();
    expect(stale.lost).toBe(true);
    expect(work.failure).toBeUndefined();
    expect(work.publishedNow).toBe(0);
    expect(await aws.drain(queues.workQueueUrl)).toEqual([]);
    expect(await runRangeTask(task, 'b', context)).toMatchObject({ status: 'done' });
    const pieces = (await aws.drain(queues.workQueueUrl)).map((body) => JSON.parse(body) as RangeTask);
    expect(pieces.length).toBeGreaterThan(1);
    expect(new Set(pieces.map((piece) => piece.id)).size).toBe(pieces.length);
    for (let next = pieces; next.length > 0; next = (await aws.drain(queues.workQueueUrl)).map((body) => JSON.parse(body) as RangeTask)) {
      for (const piece of next) expect(await runRangeTask(piece, `w-${piece.id}`, context)).toMatchObject({ status: 'done' });
    }
    expect(keysOf(await aws.drain(queueUrl))).toEqual(keys);
  });
});
