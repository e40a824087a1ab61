import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProxy, type EmulatorProxy } from '../../lib/local/proxy.ts';
import { startInventoryRun } from '../../lib/run/fan-out.ts';
import type { PartTask } from '../../lib/run/part-task.ts';
import { runPartTask } from '../../lib/run/part-worker.ts';
import { runStatus } from '../../lib/run/report.ts';
import { shardTasks } from '../../lib/run/shards.ts';
import { checkpointKey, getJson, putJson, runFolder } from '../../lib/run/state.ts';
import { RunStats } from '../../lib/core/run-stats.ts';
import type { S3Location } from '../../lib/core/types.ts';
import { hexKeys, keysOf, silentLog, useEmulator } from '../support/emulator.ts';
import {
  createWorkQueues,
  keysReport,
  runReport,
  workerContext,
  workUntilReport,
  type WorkQueues,
  partTaskOf,
} from '../support/inventory-run.ts';
import type { PartCheckpoint, WorkerContext } from '../../lib/run/types.ts';

const aws = useEmulator();
const INVENTORY = 'shard-inventory';
let proxy: EmulatorProxy | undefined;

beforeAll(async () => {
  await aws.createBucket(INVENTORY);
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/** A test's own report of `rows` keys in one data file, in order, with its work queues and target queue. */
async function oneFileRun(name: string, rows: number) {
  const keys = hexKeys(rows, name);
  const manifest = await keysReport(aws, { inventoryBucket: INVENTORY, sourceBucket: 'shard-source', keys });
  return { keys, manifest, queues: await createWorkQueues(aws, `shard-${name}-work`), target: await aws.createQueue(`shard-${name}`) };
}

/** How often each key was sent: every key of the bucket exactly once is `[1]`. */
function timesSent(bodies: string[], keys: string[]): number[] {
  const times = new Map(keys.map((key) => [key, 0]));
  for (const key of keysOf(bodies)) times.set(key, (times.get(key) ?? 0) + 1);
  return [...new Set(times.values())].sort();
}

async function receiveTasks(queues: WorkQueues): Promise<Array<{ message: Message; task: PartTask }>> {
  const received: Array<{ message: Message; task: PartTask }> = [];
  for (;;) {
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.workQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }),
    );
    if (Messages.length === 0) return received;
    for (const message of Messages) received.push({ message, task: partTaskOf(message.Body ?? '') });
  }
}

/** Runs the fan-out and the file's first task, which splits it: returns the shard tasks it queued. */
async function split(
  manifest: S3Location,
  queues: WorkQueues,
  context: WorkerContext,
): Promise<Array<{ message: Message; task: PartTask }>> {
  await startInventoryRun(manifest, { s3: aws.s3, ...queues, log: silentLog, deadline: Date.now() + 60_000 });
  const [file] = await receiveTasks(queues);
  expect(await runPartTask(file?.task as PartTask, file?.message.MessageId ?? '', context)).toMatchObject({ status: 'split' });
  await aws.sqs.send(new DeleteMessageCommand({ QueueUrl: queues.workQueueUrl, ReceiptHandle: file?.message.ReceiptHandle }));
  return receiveTasks(queues);
}

describe('shard plan', () => {
  const task = { part: 0, sequence: 0, startRow: 0 } as PartTask;
  const verified = { rows: 200_000, etag: '"e"' };

  it('splits rows evenly, the last shard reading to the end of the file', () => {
    const shards = shardTasks(task, { ...verified, rows: 100_001 }, 25_000) ?? [];
    expect(shards.map(({ shard, startRow }) => [startRow, shard?.firstRow, shard?.lastRow, shard?.index, shard?.count])).toEqual([
      [0, 0, 20_001, 0, 5],
      [20_001, 20_001, 40_002, 1, 5],
      [40_002, 40_002, 60_003, 2, 5],
      [60_003, 60_003, 80_004, 3, 5],
      [80_004, 80_004, undefined, 4, 5],
    ]);
    expect(shardTasks(task, { ...verified, rows: 25_000 }, 25_000)).toBeUndefined();
  });

  it('refuses a shard task whose range would leave rows out', () => {
    const [first, , last] = shardTasks(task, { ...verified, rows: 300 }, 100) ?? [];
    const body = (changes: object) => JSON.stringify({ ...baseTask, ...changes });
    const baseTask = {
      manifest: { bucket: 'b', key: 'k' },
      sourceBucket: 's',
      part: 0,
      parts: 1,
      file: { key: 'f', size: 1, md5: 'm' },
      columns: { key: 1, bucket: 0, count: 2 },
      startRow: 0,
      sequence: 0,
    };
    expect(partTaskOf(body({ shard: first?.shard })).shard).toEqual(first?.shard);
    expect(() => partTaskOf(body({ shard: { ...last?.shard, lastRow: 300 } }))).toThrow('work task is not a part task');
    expect(() => partTaskOf(body({ shard: { ...first?.shard, lastRow: undefined } }))).toThrow('work task is not a part task');
    expect(() => partTaskOf(body({ shard: { ...first?.shard, lastRow: 0 } }))).toThrow('work task is not a part task');
  });
});

describe('a data file split into shards', () => {
  it('publishes every key of a one-file report exactly once, shards and continuations together', async () => {
    const { keys, manifest, queues, target } = await oneFileRun('once', 4_500);
    // Every call takes 2 ms more, so a worker stops after 40 ms with most of its shard left.
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { latencyMs: 2 });
    const { report } = await runReport(aws, queues, manifest, target, {
      workers: 4,
      budgetMs: 40,
      endpoint: proxy.endpoint,
      shardRows: 1_000,
    });

    expect(report).toMatchObject({ status: 'complete', parts: 1, shards: 5, failedParts: [] });
    expect(report.totals).toMatchObject({ rowsRead: 4_500, published: 4_500, failed: 0 });
    expect(report.totals.continuations).toBeGreaterThan(0);
    const [part] = report.partResults;
    expect(part).toMatchObject({ status: 'done', rowsDone: 4_500 });
    // Even ranges of the rows estimated from the file's start, one after another; the last reads to the end.
    const shards = part?.shards ?? [];
    shards.forEach((shard, index) => {
      const end = shard.lastRow ?? 4_500;
      expect(shard).toMatchObject({ shard: index, firstRow: index === 0 ? 0 : shards[index - 1]?.lastRow, rowsDone: end });
      expect(shard.counters.published).toBe(end - shard.firstRow);
      if (index < shards.length - 1) expect(Math.abs(end - shard.firstRow - 900)).toBeLessThan(45);
    });
    expect(shards.at(-1)?.lastRow).toBeUndefined();
    const bodies = await aws.drain(target);
    expect(bodies).toHaveLength(4_500);
    expect(timesSent(bodies, keys)).toEqual([1]);
    expect(await runStatus(aws.s3, manifest)).toMatchObject({ state: 'complete', parts: 1, shards: 5, shardsFinished: 5 });
  });

  it('shows shards in the status while they run', async () => {
    const { manifest, queues, target } = await oneFileRun('status', 3_000);
    // Three shards whatever the estimate of the file's 3,000 rows made of its start (2,200 to 3,300).
    const context = workerContext(aws, queues, target, { shardRows: 1_100 });
    const [first] = await split(manifest, queues, context);
    await runPartTask(first?.task as PartTask, first?.message.MessageId ?? '', context);

    const status = await runStatus(aws.s3, manifest);
    expect(status).toMatchObject({ state: 'running', parts: 1, partsFinished: 0, shards: 3, shardsFinished: 1 });
    expect(status.totals?.published).toBe(first?.task.shard?.lastRow);
  });

  it('resumes a shard from its checkpoint after its worker is killed mid-shard', async () => {
    const { keys, manifest, queues, target } = await oneFileRun('killed', 8_000);
    // Two shards, whatever the estimate of the file's 8,000 rows made of its start.
    const context = workerContext(aws, queues, target, { shardRows: 5_000 });
    const tasks = await split(manifest, queues, context);
    const second = tasks.find(({ task }) => task.shard?.index === 1);
    expect(second?.task.shard).toMatchObject({ count: 2 });
    const secondStart = second?.task.shard?.firstRow ?? 0;
    expect(Math.abs(secondStart - 4_000)).toBeLessThan(100);

    // A slow worker in its own process, killed once it has checkpointed a thousand rows of shard 1.
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { latencyMs: 3 });
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(new URL('../../lib/local/worker-process.ts', import.meta.url)),
        second?.message.Body ?? '',
        second?.message.MessageId ?? '',
      ],
      {
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: proxy.endpoint,
          QUEUE_URL: target,
          WORK_QUEUE_URL: queues.workQueueUrl,
          CONCURRENCY: '2',
          CHECKPOINT_INTERVAL_MS: '20',
        },
        stdio: 'inherit',
      },
    );
    const run = runFolder(manifest);
    const checkpoint = async () => (await getJson<PartCheckpoint>(aws.s3, run.bucket, checkpointKey(run, 0, 1)))?.value;
    while (((await checkpoint())?.rowsDone ?? 0) < secondStart + 1_000) await new Promise((resolve) => setTimeout(resolve, 10));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const rowsDoneAtKill = (await checkpoint())?.rowsDone ?? 0;
    expect(rowsDoneAtKill).toBeLessThan(8_000);

    // SQS delivers the same message again: the new worker resumes from the shard's checkpoint.
    const outcome = await runPartTask(second?.task as PartTask, second?.message.MessageId ?? '', context);
    expect(outcome).toMatchObject({ status: 'done', shard: 1, rowsDone: 8_000 });
    expect(outcome.status === 'done' && outcome.published).toBe(8_000 - rowsDoneAtKill);
    const first = tasks.find(({ task }) => task.shard?.index === 0);
    expect(await runPartTask(first?.task as PartTask, first?.message.MessageId ?? '', context)).toMatchObject({
      status: 'done',
      report: { status: 'complete', shards: 2, totals: { rowsRead: 8_000, published: 8_000 } },
    });

    const bodies = await aws.drain(target);
    expect(new Set(keysOf(bodies))).toEqual(new Set(keys));
    // Rows up to the checkpoint were sent once; only those after it may have been sent again.
    const times = new Map<string, number>();
    for (const key of keysOf(bodies)) times.set(key, (times.get(key) ?? 0) + 1);
    expect(keys.slice(0, rowsDoneAtKill).every((key) => times.get(key) === 1)).toBe(true);
  });

  it('skips duplicate shard tasks: a split repeated after a crash, and a shard delivered again', async () => {
    const { keys, manifest, queues, target } = await oneFileRun('duplicate', 3_000);
    // Three shards whatever the estimate of the file's 3,000 rows made of its start (2,200 to 3,300).
    const context = workerContext(aws, queues, target, { shardRows: 1_100 });
    await startInventoryRun(manifest, { s3: aws.s3, ...queues, log: silentLog, deadline: Date.now() + 60_000 });
    const [file] = await receiveTasks(queues);
    const fileTask = file?.task as PartTask;
    expect(await runPartTask(fileTask, 'first-delivery', context)).toMatchObject({ status: 'split', shards: 3 });
    // The worker crashed after queueing the shards but before saving the plan: the file task comes
    // again and queues every shard a second time.
    const run = runFolder(manifest);
    const { value: plan, etag } = (await getJson<PartCheckpoint>(aws.s3, run.bucket, checkpointKey(run, 0))) ?? {};
    const { shards: _, ...unsaved } = { ...plan, handedOver: false, owner: '' } as PartCheckpoint;
    await putJson(aws.s3, run.bucket, checkpointKey(run, 0), unsaved, { ifMatch: etag ?? '' });
    expect(await runPartTask(fileTask, 'second-delivery', context)).toMatchObject({ status: 'split', shards: 3 });
    expect(await runPartTask(fileTask, 'third-delivery', context)).toMatchObject({
      status: 'skipped',
      reason: 'the part was split into 3 shards',
    });

    const shardTaskCount = (
      await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.workQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }))
    ).Messages?.length;
    expect(shardTaskCount).toBe(6);
    const report = await workUntilReport(aws, queues, manifest, context, { workers: 3, budgetMs: 60_000 });
    expect(report).toMatchObject({ status: 'complete', shards: 3, totals: { published: 3_000 } });
    expect(timesSent(await aws.drain(target), keys)).toEqual([1]);

    // A shard task delivered once more after its shard is done.
    const [again] = shardTasks(fileTask, { rows: 3_000, etag: undefined }, 1_100) ?? [];
    expect(await runPartTask(again as PartTask, 'late-copy', context)).toMatchObject({
      status: 'skipped',
      reason: 'the part is already finished',
    });
  });

  it.each([
    ['fewer rows than it has', 700, 2],
    ['more rows than it has', 1_500, 3],
  ])('ends the last shard exactly at the end of the file when the count said %s', async (_, countedRows, shardCount) => {
    const { keys, manifest, queues, target } = await oneFileRun(`count-${countedRows}`, 1_000);
    // The part's checkpoint as its integrity pass would have left it, with a wrong row count.
    const run = runFolder(manifest);
    const now = new Date().toISOString();
    const checkpoint: PartCheckpoint = {
      part: 0,
      file: '',
      owner: '',
      sequence: 0,
      rowsDone: 0,
      counters: new RunStats().counters(),
      continuations: 0,
      startedAt: now,
      updatedAt: now,
      verified: { rows: countedRows, etag: undefined },
    };
    await putJson(aws.s3, run.bucket, checkpointKey(run, 0), checkpoint);

    const { report } = await runReport(aws, queues, manifest, target, { workers: 2, budgetMs: 60_000, shardRows: 500 });
    expect(report).toMatchObject({ status: 'complete', shards: shardCount, totals: { rowsRead: 1_000, published: 1_000 } });
    const last = report.partResults[0]?.shards?.at(-1);
    expect(last?.lastRow).toBeUndefined();
    expect(last?.rowsDone).toBe(1_000);
    expect(timesSent(await aws.drain(target), keys)).toEqual([1]);
  });
});
