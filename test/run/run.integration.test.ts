import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProxy, type EmulatorProxy } from '../../lib/local/proxy.ts';
import { runStatus } from '../../lib/run/report.ts';
import { runPartTask, runTaskBatch } from '../../lib/run/part-worker.ts';
import { startInventoryRun } from '../../lib/run/fan-out.ts';
import { checkpointKey, claimKey, getJson, putJson, runFolder } from '../../lib/run/state.ts';
import { hexKeys, keysOf, putObject, silentLog, useEmulator } from '../support/emulator.ts';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { runCli } from '../support/run-cli.ts';
import { createWorkQueues, keysReport, runReport, workerContext, type WorkQueues, partTaskOf } from '../support/inventory-run.ts';
import type { PartCheckpoint } from '../../lib/run/types.ts';
import { loadSelection } from '../../lib/core/config.ts';

const aws = useEmulator();
const INVENTORY = 'run-inventory';
let queues: WorkQueues;
let proxy: EmulatorProxy | undefined;

beforeAll(async () => {
  await aws.createBucket(INVENTORY);
  queues = await createWorkQueues(aws, 'run-work');
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

const report = (keys: string[], files: number) => keysReport(aws, { inventoryBucket: INVENTORY, sourceBucket: 'run-source', keys, files });

describe('an inventory run spread over workers', () => {
  it('logs lines that do not grow with the number of parts, and the report once, by the last worker', async () => {
    const manifest = await report(hexKeys(400, 'logs'), 40);
    const lines: Array<{ message: string; size: number; extra: string }> = [];
    const capture = (message: string, ...extra: Record<string, unknown>[]) => {
      const text = JSON.stringify(extra);
      lines.push({ message, size: message.length + text.length, extra: text });
    };
    const log = { debug: capture, info: capture, warn: capture, error: capture };
    const { report: result } = await runReport(aws, queues, manifest, await aws.createQueue('run-logs'), {
      workers: 4,
      budgetMs: 60_000,
      log,
    });
    expect(result.partResults).toHaveLength(40);
    expect(lines.filter((line) => line.message === 'inventory run finished')).toHaveLength(1);
    for (const line of lines) {
      expect(line.extra, line.message).not.toContain('partResults');
      expect(line.size, line.message).toBeLessThan(2_000);
    }
  });

  it('sends nothing in a dry run: its report gives what a real run sends, its state apart, and the real run still publishes all', async () => {
    const keys = hexKeys(250, 'dry');
    const manifest = await report(keys, 3);
    const target = await aws.createQueue('run-dry');
    const selection = { ...loadSelection({}), dryRun: true };
    const dry = await runReport(aws, queues, manifest, target, { workers: 2, budgetMs: 60_000, selection, config: { dryRun: true } });
    // 84 + 84 + 82 rows: 9 SendMessageBatch calls a file, each one billed request.
    expect(dry.report).toMatchObject({
      status: 'complete',
      dryRun: true,
      totals: { rowsRead: 250, published: 250, sends: 27, sqsRequests: 27 },
    });
    expect(await aws.drain(target)).toEqual([]);
    expect(await runStatus(aws.s3, manifest)).toMatchObject({ state: 'not started' });

    const real = await runReport(aws, queues, manifest, target, { workers: 2, budgetMs: 60_000 });
    expect(real.report).toMatchObject({ status: 'complete', totals: { published: 250 } });
    expect(real.report.dryRun).toBeUndefined();
    expect(keysOf(await aws.drain(target)).sort()).toEqual([...keys].sort());
  });

  it('knows its own conditional write when the answer was lost and the retry finds the condition failed', async () => {
    const key = 'inventory/x/s3-to-sqs/parts/own-write.json';
    const created = await putJson(aws.s3, INVENTORY, key, { owner: 'a', updatedAt: '1' }, { ifNoneMatch: '*' });
    const saved = await putJson(aws.s3, INVENTORY, key, { owner: 'a', updatedAt: '2' }, { ifMatch: created ?? '' });
    expect(saved).toBeDefined();
    // The SDK's retry of that same write, against the ETag it had before: the object is ours.
    expect(await putJson(aws.s3, INVENTORY, key, { owner: 'a', updatedAt: '2' }, { ifMatch: created ?? '' })).toBe(saved);
    // Another writer's content under a stale ETag is a lost lease, as before.
    expect(await putJson(aws.s3, INVENTORY, key, { owner: 'b', updatedAt: '3' }, { ifMatch: created ?? '' })).toBeUndefined();
    expect(await putJson(aws.s3, INVENTORY, key, { owner: 'a', updatedAt: '2' }, { ifNoneMatch: '*' })).toBe(saved);
  });

  it('rejects a worker event that is not an SQS event, saying what it expected', async () => {
    const context = workerContext(aws, queues, await aws.createQueue('run-bad-event'), {});
    for (const event of [null, {}]) {
      await expect(runTaskBatch(event as unknown as SQSEvent, context, () => 1_000)).rejects.toThrow(
        'worker event has no "Records" array: expected an SQS event of the work queue',
      );
    }
  });

  it('publishes every key exactly once with 8 parts, 4 workers and continuations', async () => {
    const keys = hexKeys(8_000, 'spread');
    const manifest = await report(keys, 8);
    const target = await aws.createQueue('run-spread');
    // Every call takes 2 ms more, so a worker stops after 60 ms with most of its part left.
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { latencyMs: 2 });
    const { fanOut, report: result } = await runReport(aws, queues, manifest, target, {
      workers: 4,
      budgetMs: 60,
      endpoint: proxy.endpoint,
    });

    expect(fanOut).toMatchObject({ parts: 8, status: 'started' });
    expect(result).toMatchObject({ status: 'complete', parts: 8, failedParts: [], sourceBucket: 'run-source' });
    expect(result.totals).toMatchObject({ rowsRead: 8_000, published: 8_000, failed: 0 });
    expect(result.totals.continuations).toBeGreaterThan(0);
    expect(result.partResults.map((part) => [part.part, part.status, part.rowsDone])).toEqual(
      Array.from({ length: 8 }, (_, part) => [part, 'done', 1_000]),
    );
    expect(keysOf(await aws.drain(target))).toEqual([...keys].sort());
    expect(await runStatus(aws.s3, manifest)).toMatchObject({ state: 'complete', partsFinished: 8 });
  });

  it('resumes a part from its checkpoint when its download breaks at a random row', async () => {
    const keys = hexKeys(6_000, 'broken');
    const manifest = await report(keys, 3);
    const target = await aws.createQueue('run-broken');
    const cutOnce = new Set<string>();
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      latencyMs: 1,
      cutResponse: (method, path) => {
        if (method !== 'GET' || !path.includes('/data/') || cutOnce.has(path)) return undefined;
        cutOnce.add(path);
        return 5_000 + Math.floor(Math.random() * 20_000);
      },
    });
    const { report: result } = await runReport(aws, queues, manifest, target, { workers: 3, budgetMs: 60_000, endpoint: proxy.endpoint });

    expect(proxy.counts.responsesCut).toBe(3);
    expect(result).toMatchObject({ status: 'complete', failedParts: [] });
    // Resumed exactly after the rows settled before the break: no key lost, none sent twice.
    const bodies = await aws.drain(target);
    expect(bodies).toHaveLength(keys.length);
    expect(keysOf(bodies)).toEqual([...keys].sort());
  });

  it('resumes from the last checkpoint after a worker is killed, losing no key', async () => {
    const keys = hexKeys(4_000, 'killed');
    const manifest = await report(keys, 1);
    const target = await aws.createQueue('run-killed');
    const killQueues = await createWorkQueues(aws, 'run-killed-work');
    await startInventoryRun(manifest, { s3: aws.s3, ...killQueues, log: silentLog, deadline: Date.now() + 60_000 });
    const { Messages: [task] = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: killQueues.workQueueUrl, VisibilityTimeout: 300 }),
    );
    // A slow worker in its own process, killed once it has checkpointed a thousand rows.
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { latencyMs: 3 });
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('../../lib/local/worker-process.ts', import.meta.url)), task?.Body ?? '', task?.MessageId ?? ''],
      {
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: proxy.endpoint,
          QUEUE_URL: target,
          WORK_QUEUE_URL: killQueues.workQueueUrl,
          CONCURRENCY: '2',
          CHECKPOINT_INTERVAL_MS: '20',
        },
        stdio: 'inherit',
      },
    );
    const run = runFolder(manifest);
    const checkpoint = async () => (await getJson<PartCheckpoint>(aws.s3, run.bucket, checkpointKey(run, 0)))?.value;
    while (((await checkpoint())?.rowsDone ?? 0) < 1_000) await new Promise((resolve) => setTimeout(resolve, 10));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const rowsDoneAtKill = (await checkpoint())?.rowsDone ?? 0;
    expect(rowsDoneAtKill).toBeLessThan(4_000);

    // SQS delivers the same message again; the new worker resumes from the checkpoint.
    const context = workerContext(aws, killQueues, target, {});
    const outcome = await runPartTask(partTaskOf(task?.Body ?? ''), task?.MessageId ?? '', context);
    expect(outcome).toMatchObject({ status: 'done', rowsDone: 4_000 });
    expect(outcome.status === 'done' && outcome.published).toBe(4_000 - rowsDoneAtKill);

    const sent = keysOf(await aws.drain(target));
    expect(new Set(sent)).toEqual(new Set(keys));
    const times = new Map<string, number>();
    for (const key of sent) times.set(key, (times.get(key) ?? 0) + 1);
    // Rows up to the checkpoint were never sent again; only those after it may have been.
    expect(keys.slice(0, rowsDoneAtKill).every((key) => times.get(key) === 1)).toBe(true);
  });

  it('runs a report once when its event is delivered twice', async () => {
    const keys = hexKeys(300, 'twice');
    const manifest = await report(keys, 3);
    const target = await aws.createQueue('run-twice');
    const first = await runReport(aws, queues, manifest, target, { workers: 2, budgetMs: 60_000 });
    const again = await runReport(aws, queues, manifest, target, { workers: 2, budgetMs: 60_000 });
    expect(first.fanOut.status).toBe('started');
    expect(again.fanOut.status).toBe('duplicate');
    expect(again.report).toEqual(first.report);
    expect(await aws.drain(target)).toHaveLength(300);
  });

  it('lets a later delivery take over a claim that was released or has expired', async () => {
    const manifest = await report(hexKeys(30, 'abandoned'), 2);
    const run = runFolder(manifest);
    const claimed = {
      manifest: `s3://${manifest.bucket}/${manifest.key}`,
      sourceBucket: 'run-source',
      parts: 2,
      claimedAt: new Date().toISOString(),
    };
    const fanOut = () => startInventoryRun(manifest, { s3: aws.s3, ...queues, log: silentLog, deadline: Date.now() + 60_000 });
    // A crashed invocation's claim, still within its deadline: another delivery keeps off.
    await putJson(aws.s3, run.bucket, claimKey(run), {
      ...claimed,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      status: 'claimed',
    });
    expect((await fanOut()).status).toBe('duplicate');
    // Past its deadline, or released by a failed invocation: the next delivery queues the tasks.
    await putJson(aws.s3, run.bucket, claimKey(run), { ...claimed, expiresAt: new Date(Date.now() - 1).toISOString(), status: 'claimed' });
    expect((await fanOut()).status).toBe('resumed');
    await putJson(aws.s3, run.bucket, claimKey(run), {
      ...claimed,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      status: 'released',
    });
    expect((await fanOut()).status).toBe('resumed');
    expect((await getJson<{ status: string }>(aws.s3, run.bucket, claimKey(run)))?.value.status).toBe('queued');
    expect(await aws.drain(queues.workQueueUrl)).toHaveLength(4);
  });

  it('reports a part whose data file fails its MD5 check as failed, after the dead-letter queue', async () => {
    const keys = hexKeys(900, 'corrupt');
    const manifest = await report(keys, 3);
    const stored = await getJson<{ files: Array<{ MD5checksum: string }> }>(aws.s3, manifest.bucket, manifest.key);
    const tampered = stored?.value as { files: Array<{ MD5checksum: string }> };
    (tampered.files[1] as { MD5checksum: string }).MD5checksum = '0'.repeat(32);
    await putJson(aws.s3, manifest.bucket, manifest.key, tampered);
    const target = await aws.createQueue('run-corrupt');

    const { report: result } = await runReport(aws, queues, manifest, target, { workers: 2, budgetMs: 60_000 });
    expect(result).toMatchObject({ status: 'failed', failedParts: [1] });
    const failed = result.partResults[1];
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toMatch(
      /went to the dead-letter queue after failing every delivery .*; last error: .*has MD5 [0-9a-f]{32}; the manifest says 0{32}/,
    );
    expect(result.partResults.filter((part) => part.status === 'done')).toHaveLength(2);
    expect(result.totals.published).toBeGreaterThanOrEqual(600);
    expect(await runStatus(aws.s3, manifest)).toMatchObject({ state: 'failed' });
  });
});

describe('a report whose rows name another bucket', () => {
  it('fails the part that holds them, by name, after its workers retried it, and publishes none of them', async () => {
    // Two files of S3's layout; the second's CSV, forged with a matching MD5, names another bucket in one row.
    const base = 'inventory/run-source/forged';
    const files = [
      ['0', '"run-source","a.jpg"\n"run-source","b.jpg"\n'],
      ['1', '"run-source","c.jpg"\n"payroll","salaries.csv"\n"run-source","d.jpg"\n'],
    ].map(([name, csv]) => ({ key: `${base}/data/${name}.csv.gz`, body: gzipSync(csv as string) }));
    for (const file of files) await putObject(aws.s3, INVENTORY, file.key, file.body);
    const manifest = { bucket: INVENTORY, key: `${base}/2026-12-01T00-00Z/manifest.json` };
    await putObject(
      aws.s3,
      INVENTORY,
      manifest.key,
      JSON.stringify({
        sourceBucket: 'run-source',
        destinationBucket: `arn:aws:s3:::${INVENTORY}`,
        version: '2016-11-30',
        creationTimestamp: '1795838400000',
        fileFormat: 'CSV',
        fileSchema: 'Bucket, Key',
        files: files.map(({ key, body }) => ({ key, size: body.length, MD5checksum: createHash('md5').update(body).digest('hex') })),
      }),
    );
    const target = await aws.createQueue('run-forged');
    const { report: result } = await runReport(aws, queues, manifest, target, { workers: 2, budgetMs: 60_000 });
    expect(result).toMatchObject({ status: 'failed', failedParts: [1], totals: { skippedByReason: { otherBucket: 1 } } });
    expect(result.partResults[1]?.error).toMatch(/1 rows named another bucket than the report's source bucket \("payroll"\)/);
    expect(keysOf(await aws.drain(target))).toEqual(['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']);
  });
});

describe('status', () => {
  it('is shown by the CLI and the status function', async () => {
    const manifest = await report(hexKeys(40, 'status'), 2);
    const uri = `s3://${manifest.bucket}/${manifest.key}`;
    const before = await runCli(['status', uri, '--json']);
    expect(before.json()).toEqual({ manifest: uri, state: 'not started', stateLocation: uri.replace('manifest.json', 's3-to-sqs/') });
    await runReport(aws, queues, manifest, await aws.createQueue('run-status'), { workers: 1, budgetMs: 60_000 });
    const after = await runCli(['status', uri]);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain(`${uri} (s3://run-source): complete`);
    expect(after.stdout).toContain('Parts finished 2 of 2, shards 2 of 2; published 40, skipped 0, failed 0, continuations 0.');
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const { handler } = await import('../../handlers/status.ts');
    expect(await handler({ manifest: uri })).toMatchObject({ state: 'complete', parts: 2, totals: { published: 40 } });
    await expect(handler({})).rejects.toThrow('status event: "manifest" must be an s3://…/manifest.json URI');
  });
});
