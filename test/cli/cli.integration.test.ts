import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { startEmulatorProxy } from '../../lib/local/proxy.ts';
import { writeInventoryReport } from '../../lib/local/report-writer.ts';
import { seedBucket } from '../../lib/local/sample-objects.ts';
import { bucketKeys, keysOf, putObject, useEmulator } from '../support/emulator.ts';
import { runCli, startCli } from '../support/run-cli.ts';

const aws = useEmulator();
const FIXTURE = fileURLToPath(new URL('../fixtures/versioned-report/', import.meta.url));
const MANIFEST = 's3://fixture-inventory/inventory/fixture-photos/all-versions/2026-11-28T01-00Z/manifest.json';

beforeAll(async () => {
  // Upload the report made by gzip and md5sum (see make-report.sh) as S3 would have written it.
  await aws.createBucket('fixture-inventory');
  for (const entry of await readdir(join(FIXTURE, 'inventory'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    await putObject(aws.s3, 'fixture-inventory', relative(FIXTURE, path), await readFile(path));
  }
});

describe('cli inventory', () => {
  it('publishes exactly the current keys of a report written by another tool, and exits 0', async () => {
    const expected = JSON.parse(await readFile(join(FIXTURE, 'expected-keys.json'), 'utf8')) as string[];
    const queueUrl = await aws.createQueue('cli-objects.fifo');
    const result = await runCli(['inventory', MANIFEST, queueUrl, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({
      manifest: MANIFEST,
      dataFiles: 2,
      rowsRead: 11,
      published: expected.length,
      skipped: 3,
      skippedByReason: { notLatest: 2, deleteMarker: 1, patternMismatch: 0, malformedKey: 0 },
      failed: 0,
    });
    expect(result.json()).toHaveProperty('durationMs');
    const bodies = await aws.drain(queueUrl);
    expect(keysOf(bodies)).toEqual([...expected].sort());
    expect(bodies.every((body) => JSON.parse(body).bucket === 'fixture-photos')).toBe(true);
  });

  it('--dry-run reads and selects as a real run, publishes nothing, and says what the real run sends and costs', async () => {
    const proxy = await startEmulatorProxy(aws.emulator.endpoint);
    const env = { ...process.env, AWS_ENDPOINT_URL: proxy.endpoint };
    try {
      const queueUrl = await aws.createQueue('cli-dry-run.fifo');
      const dry = await runCli(['inventory', MANIFEST, queueUrl, '--dry-run', '--json', '--concurrency', '1'], env);
      expect(dry.code).toBe(0);
      // A dry run makes no SQS call at all.
      expect(proxy.counts.sendMessageBatchCalls).toBe(0);
      expect(await aws.drain(queueUrl)).toEqual([]);
      const real = await runCli(['inventory', MANIFEST, queueUrl, '--json', '--concurrency', '1'], env);
      expect(dry.json()).toMatchObject({
        dryRun: true,
        published: 0,
        wouldPublish: real.json<{ published: number }>().published,
        sendMessageBatchCalls: proxy.counts.sendMessageBatchCalls,
        sqsRequests: proxy.counts.sendMessageBatchCalls,
        // The manifest, then each of the two data files twice: its integrity pass and its read.
        s3Requests: { get: 5, list: 0 },
        estimatedCostUsd: { pricesAsOf: '2026-12-01', sqs: expect.any(Number), total: expect.any(Number) },
      });
      expect(dry.json<{ estimatedCostUsd: { total: number } }>().estimatedCostUsd.total).toBeGreaterThan(0);
      expect(await runCli(['inventory', MANIFEST, queueUrl, '--dry-run'], env)).toMatchObject({
        stdout: expect.stringMatching(/^Dry run: nothing was published\. A real run would publish 8 messages in 1 SendMessageBatch call /),
      });
    } finally {
      await proxy.stop();
    }
  });

  it('prints a human summary without --json', async () => {
    const result = await runCli(['inventory', MANIFEST, await aws.createQueue('cli-human')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^8 messages were published in [\d.]+ s/);
    expect(result.stdout).toContain('skipped 3 (deleteMarker 1, notLatest 2)');
  });

  it('exits 2 with one line when the manifest does not exist or is not JSON', async () => {
    await putObject(aws.s3, 'fixture-inventory', 'inventory/broken/manifest.json', '{"sourceBucket": ');
    const cases: Array<[string, RegExp]> = [
      ['s3://fixture-inventory/inventory/nothing/manifest.json', /^error: manifest .+ could not be read: NoSuchKey/],
      ['s3://fixture-inventory/inventory/broken/manifest.json', /^error: manifest .+ is not valid JSON/],
    ];
    for (const [manifest, reason] of cases) {
      const result = await runCli(['inventory', manifest, await aws.createQueue('cli-failing'), '--json']);
      expect(result.code, manifest).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(reason)]);
    }
  });

  it('exits 2 with one line naming the queue and what SQS answered, before reading anything, when the queue does not exist', async () => {
    const missing = `${aws.emulator.endpoint}/000000000000/no-such-queue`;
    // The proxy counts every request: only the queue's check may reach AWS.
    const proxy = await startEmulatorProxy(aws.emulator.endpoint);
    try {
      for (const args of [
        ['inventory', MANIFEST, missing],
        ['backfill', 'fixture-inventory', missing],
      ]) {
        const result = await runCli(args, { ...process.env, AWS_ENDPOINT_URL: proxy.endpoint });
        expect(result.code, args[0]).toBe(2);
        expect(result.stderr.trimEnd().split('\n')).toEqual([
          `error: queue ${missing} cannot be used: SQS answered QueueDoesNotExist: The specified queue does not exist. (HTTP 400)`,
        ]);
      }
      expect(proxy.counts.requests).toBe(2);
    } finally {
      await proxy.stop();
    }
  });

  it('backfill: exits 2 with one line, before listing, when the bucket does not exist or no region is set', async () => {
    const queueUrl = await aws.createQueue('cli-no-bucket');
    const { AWS_REGION: _, AWS_DEFAULT_REGION: __, ...noRegion } = process.env;
    const cases: Array<[NodeJS.ProcessEnv, string, RegExp]> = [
      [process.env, 'no-such-bucket', /^error: bucket "no-such-bucket" cannot be listed: S3 answered NoSuchBucket/],
      [{ ...noRegion, AWS_CONFIG_FILE: '/nonexistent' }, 'fixture-inventory', /^error: no AWS region: set AWS_REGION/],
    ];
    for (const [env, bucket, reason] of cases) {
      const result = await runCli(['backfill', bucket, queueUrl, '--json'], env);
      expect(result.code, bucket).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(reason)]);
    }
  });

  it('exits 1, a failed run, when a data file fails its checksum, and publishes none of its rows', async () => {
    const original = await aws.s3.send(
      new GetObjectCommand({ Bucket: 'fixture-inventory', Key: MANIFEST.slice('s3://fixture-inventory/'.length) }),
    );
    const manifest = JSON.parse((await original.Body?.transformToString()) ?? '') as { files: Array<{ MD5checksum: string }> };
    for (const file of manifest.files) file.MD5checksum = '0'.repeat(32);
    const altered = 'inventory/fixture-photos/all-versions/2026-11-29T01-00Z/manifest.json';
    await putObject(aws.s3, 'fixture-inventory', altered, JSON.stringify(manifest));
    const queueUrl = await aws.createQueue('cli-checksum');
    const result = await runCli(['inventory', `s3://fixture-inventory/${altered}`, queueUrl, '--json']);
    expect(result.code).toBe(1);
    expect(result.json()).toMatchObject({ published: 0, error: expect.stringMatching(/has MD5 [0-9a-f]{32}; the manifest says 0{32}/) });
    expect(await aws.drain(queueUrl)).toEqual([]);
  });

  it('exits 2 and names the bad argument', async () => {
    const notUri = await runCli(['inventory', 'fixture-inventory/manifest.json', 'https://sqs.us-east-1.amazonaws.com/1/q']);
    expect(notUri.code).toBe(2);
    expect(notUri.stderr).toContain('"fixture-inventory/manifest.json" is not an S3 object URI');
    const badConcurrency = await runCli(['inventory', MANIFEST, 'https://sqs.us-east-1.amazonaws.com/1/q', '--concurrency', 'lots']);
    expect(badConcurrency.code).toBe(2);
    expect(badConcurrency.stderr).toContain('CONCURRENCY "lots" must be a whole number');
  });
});

describe('cli exit codes and errors', () => {
  it('exits 2 on a usage error: a missing argument, an unknown option or command', async () => {
    for (const args of [
      ['inventory'],
      ['inventory', MANIFEST, 'https://sqs.us-east-1.amazonaws.com/1/q', '--bogus'],
      ['publish-everything'],
    ]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^error: /m);
    }
    expect((await runCli(['--help'])).code).toBe(0);
  });

  it('status: a missing manifest or bucket, or an unreachable endpoint, exits 2 with the reason and no stack trace', async () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['status', 's3://fixture-inventory/inventory/typo/manifest.json'], process.env, /could not be read: NoSuchKey/],
      [['status', 's3://no-such-bucket/x/manifest.json'], process.env, /could not be read: NoSuchBucket/],
      [['status', MANIFEST], { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }, /could not be read: .*ECONNREFUSED/],
    ];
    for (const [args, env, reason] of cases) {
      const result = await runCli(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(reason);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    }
    const verbose = await runCli(['status', 's3://no-such-bucket/x/manifest.json', '--verbose']);
    expect(verbose.stderr).toMatch(/^\s+at /m);
  });

  it('exits 2 naming the problem when a continuation was edited into overlapping or inverted ranges', async () => {
    const queueUrl = await aws.createQueue('cli-bad-continuation');
    const continuation = (ranges: unknown[]) => JSON.stringify({ bucket: 'fixture-photos', prefix: '', ranges });
    const overlapping = await runCli([
      'backfill',
      'fixture-photos',
      queueUrl,
      '--continuation',
      continuation([
        { startAfter: '1', end: '5' },
        { startAfter: '3', end: '7' },
      ]),
    ]);
    expect(overlapping.code).toBe(2);
    expect(overlapping.stderr).toContain('range 1 of 2 overlaps the next one');
    const inverted = await runCli([
      'backfill',
      'fixture-photos',
      queueUrl,
      '--continuation',
      continuation([{ startAfter: '7', end: '5' }]),
    ]);
    expect(inverted.code).toBe(2);
    expect(inverted.stderr).toContain('is empty or inverted');
    expect(await aws.drain(queueUrl)).toEqual([]);
  });
});

describe('cli interrupted with Ctrl-C', () => {
  const depth = async (queueUrl: string) =>
    Number(
      (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] })))
        .Attributes?.ApproximateNumberOfMessages,
    );
  const until = async (condition: () => boolean | Promise<boolean>) => {
    while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  /** Waits until the run has published something, then interrupts it; again once it said it is stopping. */
  const interruptOnceStarted = async (run: ReturnType<typeof startCli>, queueUrl: string, times = 1) => {
    await until(async () => (await depth(queueUrl)) > 0);
    run.child.kill('SIGINT');
    if (times === 1) return;
    await until(() => run.stderr().includes('Stopping'));
    run.child.kill('SIGINT');
  };

  it('inventory: lets the batches settle, prints exact counts and a continuation, exits 130; the continuation finishes it', async () => {
    const keys = Array.from({ length: 12_000 }, (_, index) => `${String(index).padStart(6, '0')}.jpg`);
    const { manifest } = await writeInventoryReport(aws.s3, {
      sourceBucket: 'interrupted-photos',
      destinationBucket: 'fixture-inventory',
      prefix: 'interrupt',
      configId: 'daily',
      rows: keys.map((key) => ({ key, size: 1, lastModified: new Date(), etag: 'e' })),
      rowsPerFile: 4_000,
    });
    const uri = `s3://${manifest.bucket}/${manifest.key}`;
    const queueUrl = await aws.createQueue('cli-interrupted');
    const proxy = await startEmulatorProxy(aws.emulator.endpoint, { latencyMs: 3 });
    const env = { ...process.env, AWS_ENDPOINT_URL: proxy.endpoint, CONCURRENCY: '2' };
    try {
      const first = startCli(['inventory', uri, queueUrl, '--json'], env);
      await interruptOnceStarted(first, queueUrl);
      const stopped = await first.result;
      expect(stopped.code).toBe(130);
      const summary = stopped.json<{
        published: number;
        done: boolean;
        continuation: { file: number; startRow: number };
        files: unknown[];
      }>();
      expect(summary.done).toBe(false);
      expect(summary.published).toBeLessThan(keys.length);
      expect(await depth(queueUrl)).toBe(summary.published);
      expect(summary.continuation).toMatchObject({ manifest: uri });

      const rest = await runCli(['inventory', uri, queueUrl, '--json', '--continuation', JSON.stringify(summary.continuation)], env);
      expect(rest.code).toBe(0);
      expect(rest.json<{ published: number; done: boolean }>()).toMatchObject({ done: true, published: keys.length - summary.published });
      expect(keysOf(await aws.drain(queueUrl))).toEqual(keys);
    } finally {
      await proxy.stop();
    }
  }, 60_000);

  it('backfill: a second Ctrl-C prints at once what is known, with the messages in flight, and exits 130', async () => {
    await aws.createBucket('interrupted-bucket');
    await seedBucket(aws.s3, 'interrupted-bucket', { count: 3_000 });
    const queueUrl = await aws.createQueue('cli-forced');
    // Calls slow enough that the batches in flight are still out when the second Ctrl-C comes.
    const proxy = await startEmulatorProxy(aws.emulator.endpoint, { latencyMs: 200 });
    try {
      const run = startCli(['backfill', 'interrupted-bucket', queueUrl, '--json'], {
        ...process.env,
        AWS_ENDPOINT_URL: proxy.endpoint,
        CONCURRENCY: '4',
      });
      await interruptOnceStarted(run, queueUrl, 2);
      const result = await run.result;
      expect(result.code).toBe(130);
      const summary = result.json<{ published: number; inFlight: number; done: boolean; error: string }>();
      expect(summary).toMatchObject({ done: false, error: expect.stringContaining('stopped at once by a second Ctrl-C') });
      expect(summary.published).toBeGreaterThan(0);
      expect(summary.inFlight).toBeGreaterThan(0);
    } finally {
      await proxy.stop();
    }
  }, 60_000);
});

describe('cli seed', () => {
  it('writes <sha256>.<ext> sample objects to a bucket', async () => {
    await aws.createBucket('seeded');
    const result = await runCli(['seed', 'seeded', '--count', '25']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^25 objects were written to s3:\/\/seeded in/);
    const { Contents = [] } = await aws.s3.send(new ListObjectsV2Command({ Bucket: 'seeded' }));
    expect(Contents).toHaveLength(25);
    for (const object of Contents) expect(object.Key).toMatch(/^[0-9a-f]{64}\.(jpg|png|pdf|txt)$/);
  });

  it('writes the report S3 Inventory would deliver of the bucket, which status and inventory then take', async () => {
    await aws.createBucket('seeded-report');
    await aws.createBucket('seeded-inventory');
    const seeded = await runCli([
      'seed',
      'seeded-report',
      '--count',
      '30',
      '--report',
      's3://seeded-inventory/daily',
      '--format',
      'parquet',
    ]);
    expect(seeded.code).toBe(0);
    const manifest = /(s3:\/\/seeded-inventory\/daily\/seeded-report\/daily\/\S+\/manifest\.json)/.exec(seeded.stdout)?.[1] ?? '';
    expect(seeded.stdout).toContain(`The report lists 30 objects in 1 data file: ${manifest}`);

    const status = await runCli(['status', manifest]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`${manifest}: not started\nNo run state at ${manifest.replace('manifest.json', 's3-to-sqs/')}`);
    expect(status.stdout).toContain('`npm run cli -- inventory` keeps none');

    const queueUrl = await aws.createQueue('cli-seeded-report');
    const published = await runCli(['inventory', manifest, queueUrl, '--json']);
    expect(published.json()).toMatchObject({ rowsRead: 30, published: 30, done: true });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(await bucketKeys(aws.s3, 'seeded-report'));
  });

  it('names the bucket when it cannot write to it', async () => {
    const result = await runCli(['seed', 'no-such-bucket', '--count', '3']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('writing to bucket "no-such-bucket" failed: NoSuchBucket');
  });
});
