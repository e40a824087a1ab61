import type { S3Event } from 'aws-lambda';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backfillBucket, type BackfillContinuation, type BackfillSummary } from '../../lib/backfill/job.ts';
import { startEmulatorProxy, type EmulatorProxy } from '../../lib/local/proxy.ts';
import { InvalidArgumentError, RunFailedError } from '../../lib/core/errors.ts';
import { isBeyondRange } from '../../lib/backfill/key-ranges.ts';
import { compareUtf8 } from '../../lib/core/utf8-order.ts';
import { sampleObject, seedBucket } from '../../lib/local/sample-objects.ts';
import { hexKeys, keysOf, putObject, useEmulator } from '../support/emulator.ts';
import PQueue from 'p-queue';
import { runCli } from '../support/run-cli.ts';

const aws = useEmulator();
const BUCKET = 'backfill-source';
const SAMPLES = 5_000;
/** Keys outside the hex ranges, at their edges, and everywhere in between. */
const AWKWARD_KEYS = [
  '0',
  'f',
  'g',
  'ffffffff',
  'README',
  'Zebra.JPG',
  'ABCDEF.png',
  '/leading-slash',
  '.hidden',
  '-dash',
  ' leading space',
  '~tilde',
  '日本語/ファイル.txt',
  'émigré.pdf',
  'with+plus and space.txt',
  '100%.txt',
  'nested/a/b/c/d.bin',
  `${'k'.repeat(1_024)}`,
  '\uE000private-use',
];
let allKeys: string[];
let queues = 0;

beforeAll(async () => {
  await aws.createBucket(BUCKET);
  await seedBucket(aws.s3, BUCKET, { count: SAMPLES });
  for (const key of AWKWARD_KEYS) await putObject(aws.s3, BUCKET, key, 'x');
  allKeys = [...Array.from({ length: SAMPLES }, (_, index) => sampleObject(index).key), ...AWKWARD_KEYS].sort();
}, 120_000);

const newQueue = () => aws.createQueue(`backfill-${(queues += 1)}`);

describe('backfillBucket', () => {
  it('publishes every key exactly once, listing 17 ranges in parallel', async () => {
    const queueUrl = await newQueue();
    const summary = await backfillBucket({ bucket: BUCKET }, aws.context(queueUrl));
    expect(summary).toMatchObject({ bucket: BUCKET, prefix: '', ranges: 17, done: true, published: allKeys.length, failed: 0 });
    expect(summary.continuation).toBeUndefined();
    expect(keysOf(await aws.drain(queueUrl))).toEqual(allKeys);
  });

  describe('with a time budget too small to finish', () => {
    let proxy: EmulatorProxy;
    beforeAll(async () => {
      // Every call takes 5 ms more, so a run of 100 ms lists only part of the bucket.
      proxy = await startEmulatorProxy(aws.emulator.endpoint, { latencyMs: 5 });
    });
    afterAll(() => proxy.stop());

    it('stops with continuations whose runs together publish exactly the bucket', async () => {
      const queueUrl = await newQueue();
      const context = aws.context(queueUrl, {}, proxy.endpoint);
      const runs: BackfillSummary[] = [];
      let continuation: BackfillContinuation | undefined;
      do {
        const summary = await backfillBucket(
          { bucket: BUCKET, ...(continuation && { continuation }) },
          context,
          undefined,
          AbortSignal.timeout(100),
        );
        runs.push(summary);
        continuation = summary.continuation;
        expect(runs.length).toBeLessThan(200);
      } while (continuation);
      expect(runs.length).toBeGreaterThan(3);
      expect(runs.at(-1)?.done).toBe(true);
      expect(runs.slice(0, -1).every((run) => !run.done && run.continuation !== undefined)).toBe(true);
      expect(runs.reduce((total, run) => total + run.published, 0)).toBe(allKeys.length);
      expect(keysOf(await aws.drain(queueUrl))).toEqual(allKeys);
    });
  });

  it('restricts itself to a prefix', async () => {
    const queueUrl = await newQueue();
    const summary = await backfillBucket({ bucket: BUCKET, prefix: 'nested/' }, aws.context(queueUrl));
    expect(summary).toMatchObject({ prefix: 'nested/', published: 1, done: true });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(['nested/a/b/c/d.bin']);
  });

  it('publishes nothing from an empty bucket, and is done', async () => {
    await aws.createBucket('backfill-empty');
    const summary = await backfillBucket({ bucket: 'backfill-empty' }, aws.context(await newQueue()));
    expect(summary).toMatchObject({ published: 0, rowsRead: 0, done: true, failed: 0 });
  });

  it('refuses a bucket that does not exist before listing any range, as bad input', async () => {
    const run = backfillBucket({ bucket: 'no-such-bucket' }, aws.context(await newQueue()));
    await expect(run).rejects.toThrow(InvalidArgumentError);
    await expect(run).rejects.toThrow(/bucket "no-such-bucket" cannot be listed: S3 answered NoSuchBucket/);
  });
});

describe('backfill: ranges split where the keys are', () => {
  let proxy: EmulatorProxy | undefined;
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
  });
  const DEEP = 'deep-source';
  const deepKeys = hexKeys(6_000, 'deep').map((name) => `tenant/2026/archive/${name}`);
  beforeAll(async () => {
    await aws.createBucket(DEEP);
    const writes = new PQueue({ concurrency: 32 });
    await Promise.all(deepKeys.map((key) => writes.add(() => putObject(aws.s3, DEEP, key, 'x'))));
  }, 120_000);

  it('spreads a bucket whose keys all lie under one deep prefix over many ranges, each key once', async () => {
    const queueUrl = await aws.createQueue('backfill-deep.fifo');
    const summary = await backfillBucket({ bucket: DEEP }, aws.context(queueUrl));
    // All 6,000 keys (six pages) fall in one of the 17 first ranges: the splits spread them.
    expect(summary).toMatchObject({ done: true, published: 6_000, failed: 0 });
    expect(summary.ranges).toBeGreaterThan(17);
    expect(summary.rangesWithKeys).toBeGreaterThanOrEqual(6);
    const bodies = await aws.drain(queueUrl);
    expect(bodies).toHaveLength(6_000);
    expect(keysOf(bodies)).toEqual([...deepKeys].sort());
  });

  it('continues runs stopped across splits, each key once in total', async () => {
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { latencyMs: 3 });
    const queueUrl = await newQueue();
    const context = aws.context(queueUrl, {}, proxy.endpoint);
    let continuation: BackfillContinuation | undefined;
    let published = 0;
    let runs = 0;
    do {
      const summary = await backfillBucket(
        { bucket: DEEP, ...(continuation && { continuation }) },
        context,
        undefined,
        AbortSignal.timeout(150),
      );
      published += summary.published;
      continuation = summary.continuation;
      runs += 1;
      expect(runs).toBeLessThan(200);
    } while (continuation);
    expect(runs).toBeGreaterThan(2);
    expect(published).toBe(6_000);
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...deepKeys].sort());
  });

  it('publishes a bucket of one key', async () => {
    await aws.createBucket('one-key-source');
    await putObject(aws.s3, 'one-key-source', 'only.jpg', 'x');
    const queueUrl = await newQueue();
    expect(await backfillBucket({ bucket: 'one-key-source' }, aws.context(queueUrl))).toMatchObject({
      done: true,
      published: 1,
      ranges: 17,
      rangesWithKeys: 1,
    });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(['only.jpg']);
  });
});

describe('backfill: a continuation after failed sends', () => {
  let proxy: EmulatorProxy | undefined;
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
  });

  /** The summary of a run that failed, with its continuation; its counts add up to the keys it read. */
  async function failedRun(run: Promise<BackfillSummary>): Promise<BackfillSummary> {
    const error = (await run.catch((caught: unknown) => caught)) as RunFailedError<BackfillSummary>;
    expect(error).toBeInstanceOf(RunFailedError);
    const { summary } = error;
    expect(summary.done).toBe(false);
    expect(summary.rowsRead).toBeGreaterThan(0);
    expect(summary.published + summary.skipped + summary.failed + (summary.unsent ?? 0)).toBe(summary.rowsRead);
    return summary;
  }

  it('after a queue that refuses every send, lists again from the start of every range, and publishes every key once', async () => {
    const missing = `${aws.emulator.endpoint}/000000000000/no-such-queue`;
    const stopped = await failedRun(backfillBucket({ bucket: BUCKET }, aws.context(missing)));
    expect(stopped.published).toBe(0);
    expect(stopped.continuation?.ranges).toHaveLength(17);

    const queueUrl = await aws.createQueue('backfill-after-refusal.fifo');
    const resumed = await backfillBucket(
      { bucket: BUCKET, ...(stopped.continuation && { continuation: stopped.continuation }) },
      aws.context(queueUrl),
    );
    expect(resumed).toMatchObject({ done: true, published: allKeys.length, failed: 0 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(allKeys);
  });

  it('after a few entries failed for good, starts each range before its first failed key: the queue gets every key once', async () => {
    const doomed = new Set([allKeys[10], allKeys[2_000], allKeys[4_500]]);
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      failEntry: (entry) =>
        doomed.has(JSON.parse(String(entry.MessageBody)).key) ? { code: 'InvalidParameterValue', senderFault: true } : undefined,
    });
    const queueUrl = await aws.createQueue('backfill-after-failed-entries.fifo');
    const stopped = await failedRun(backfillBucket({ bucket: BUCKET }, aws.context(queueUrl, { maxAttempts: 2 }, proxy.endpoint)));
    expect(stopped).toMatchObject({ failed: 3, published: allKeys.length - 3 });
    // Each failed key lies in a range of the continuation, after its start.
    for (const key of doomed) {
      const range = stopped.continuation?.ranges.find(
        (candidate) =>
          (candidate.startAfter === undefined || compareUtf8(key ?? '', candidate.startAfter) > 0) && !isBeyondRange(key ?? '', candidate),
      );
      expect(range, key).toBeDefined();
    }

    const resumed = await backfillBucket(
      { bucket: BUCKET, ...(stopped.continuation && { continuation: stopped.continuation }) },
      aws.context(queueUrl),
    );
    expect(resumed).toMatchObject({ done: true, failed: 0 });
    // What was published after a failed key is sent again: the FIFO queue drops those repeats.
    expect(keysOf(await aws.drain(queueUrl))).toEqual(allKeys);
  });
});

describe('cli backfill', () => {
  it('publishes each key once and exits 0', async () => {
    const queueUrl = await aws.createQueue('backfill-cli.fifo');
    const result = await runCli(['backfill', BUCKET, queueUrl, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ bucket: BUCKET, done: true, published: allKeys.length, failed: 0, skipped: 0 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(allKeys);
  });

  it('publishes S3 event notifications with --message-format s3-event, in the region the SDK resolved', async () => {
    await aws.createBucket('event-source');
    await putObject(aws.s3, 'event-source', 'a b+c.jpg', 'hello');
    const queueUrl = await newQueue();
    const result = await runCli(['backfill', 'event-source', queueUrl, '--message-format', 's3-event', '--json']);
    expect(result.code).toBe(0);
    const [body] = await aws.drain(queueUrl);
    const record = (JSON.parse(body ?? '{}') as S3Event).Records[0];
    expect(record).toMatchObject({
      awsRegion: process.env.AWS_REGION,
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: 'event-source' }, object: { key: 'a+b%2Bc.jpg', size: 5, eTag: '5d41402abc4b2a76b9719d911017c592' } },
    });
  });

  it('prints a continuation when its time budget runs out, and resumes from it', async () => {
    const queueUrl = await newQueue();
    const first = await runCli(['backfill', BUCKET, queueUrl, '--json', '--time-budget-ms', '1']);
    expect(first.code).toBe(0);
    const stopped = first.json<BackfillSummary>();
    expect(stopped.done).toBe(false);
    const second = await runCli(['backfill', BUCKET, queueUrl, '--json', '--continuation', JSON.stringify(stopped.continuation)]);
    expect(second.json()).toMatchObject({ done: true, published: allKeys.length - stopped.published });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(allKeys);
  });
});

describe('backfill: fields and changes from the listing', () => {
  it('adds size, etag, lastModified and storageClass to each message, and refuses versionId at start', async () => {
    await aws.createBucket('fields-source');
    await putObject(aws.s3, 'fields-source', 'a.jpg', 'hello');
    const queueUrl = await newQueue();
    const fields = ['size', 'etag', 'lastModified', 'storageClass'] as const;
    await backfillBucket({ bucket: 'fields-source' }, aws.context(queueUrl, { messageFields: [...fields] }));
    const [body] = await aws.drain(queueUrl);
    const message = JSON.parse(body ?? '{}');
    expect(Object.keys(message)).toEqual(['bucket', 'key', 'size', 'etag', 'lastModified', 'storageClass']);
    expect(message).toMatchObject({
      bucket: 'fields-source',
      key: 'a.jpg',
      size: 5,
      etag: '5d41402abc4b2a76b9719d911017c592',
      storageClass: 'STANDARD',
    });
    expect(Number.isNaN(Date.parse(message.lastModified))).toBe(false);
    await expect(backfillBucket({ bucket: 'fields-source' }, aws.context(queueUrl, { messageFields: ['versionId'] }))).rejects.toThrow(
      'MESSAGE_FIELDS versionId: a bucket listing (ListObjectsV2) has no version ids',
    );
  });

  it('filters by the size and storage class the listing gives, counting what it skips by filter', async () => {
    await aws.createBucket('filter-source');
    await putObject(aws.s3, 'filter-source', 'empty.txt', '');
    await putObject(aws.s3, 'filter-source', 'full.txt', 'hello');
    const queueUrl = await newQueue();
    const bySize = await backfillBucket(
      { bucket: 'filter-source' },
      aws.context(queueUrl, { filter: { minSize: 1 }, readFields: ['size'] }),
    );
    expect(bySize).toMatchObject({ published: 1, skippedByReason: { size: 1 } });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(['full.txt']);
    const byClass = await backfillBucket(
      { bucket: 'filter-source' },
      aws.context(queueUrl, { filter: { storageClassInclude: ['GLACIER'] }, readFields: ['storageClass'] }),
    );
    expect(byClass).toMatchObject({ published: 0, skippedByReason: { storageClass: 2 } });
    const byTime = await backfillBucket(
      { bucket: 'filter-source' },
      aws.context(queueUrl, { filter: { modifiedBefore: Date.parse('2020-01-01T00:00:00Z') }, readFields: ['lastModified'] }),
    );
    expect(byTime).toMatchObject({ published: 0, skippedByReason: { lastModified: 2 } });
  });

  it('publishes only objects modified since a time, counting the rest as unchanged', async () => {
    await aws.createBucket('since-source');
    await putObject(aws.s3, 'since-source', 'before.jpg', 'x');
    const { Contents = [] } = await aws.s3.send(new ListObjectsV2Command({ Bucket: 'since-source' }));
    const since = new Date((Contents[0]?.LastModified?.getTime() ?? 0) + 1_000);
    // S3 times have a one-second resolution: wait past it so the second object is newer.
    while (Date.now() < since.getTime() + 1_000) await new Promise((resolve) => setTimeout(resolve, 100));
    await putObject(aws.s3, 'since-source', 'after.jpg', 'y');
    const queueUrl = await newQueue();
    const summary = await backfillBucket({ bucket: 'since-source', modifiedSince: since }, aws.context(queueUrl));
    expect(summary).toMatchObject({ published: 1, skippedByReason: { unchanged: 1 } });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(['after.jpg']);
  });
});
