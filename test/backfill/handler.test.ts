import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseBackfillEvent } from '../../lib/backfill/event.ts';
import { publishingBudget } from '../../lib/core/time-budget.ts';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import { seedBucket } from '../../lib/local/sample-objects.ts';
import { useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
let handler: typeof import('../../handlers/backfill.ts').handler;
let queueUrl: string;

/** Stands in for Lambda's Invoke endpoint (the emulator has no Lambda): records what is invoked. */
const invocations: Array<{ path: string; invocationType: string; payload: unknown }> = [];
let lambdaEndpoint: Server;

beforeAll(async () => {
  await aws.createBucket('handler-source');
  await seedBucket(aws.s3, 'handler-source', { count: 300 });
  await aws.createBucket('handler-chain');
  await seedBucket(aws.s3, 'handler-chain', { count: 4 });
  queueUrl = await aws.createQueue('backfill-handler');
  lambdaEndpoint = createServer(async (request, response) => {
    const body = Buffer.concat(await request.toArray()).toString('utf8');
    invocations.push({
      path: decodeURIComponent(request.url ?? ''),
      invocationType: String(request.headers['x-amz-invocation-type']),
      payload: JSON.parse(body),
    });
    response.writeHead(202).end();
  });
  await new Promise<void>((resolve) => lambdaEndpoint.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    QUEUE_URL: queueUrl,
    SOURCE_BUCKET: 'handler-source',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambdaEndpoint.address() as AddressInfo).port}`,
  });
  ({ handler } = await import('../../handlers/backfill.ts'));
});

afterAll(() => new Promise<void>((resolve) => lambdaEndpoint.close(() => resolve())));

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:s3-to-sqs-dev-backfill';
const lambdaContext = (remainingMs: number) =>
  ({ invokedFunctionArn: FUNCTION_ARN, functionName: 's3-to-sqs-dev-backfill', getRemainingTimeInMillis: () => remainingMs }) as Context;

describe('backfill handler', () => {
  it('publishes the configured source bucket when the event names none', async () => {
    const summary = await handler({}, lambdaContext(900_000));
    expect(summary).toMatchObject({ bucket: 'handler-source', done: true, published: 300, failed: 0 });
    expect(await aws.drain(queueUrl)).toHaveLength(300);
    expect(invocations).toHaveLength(0);
  });

  it('lists without publishing with {"dryRun": true}, saying what a real run sends and costs, then publishes the same for real', async () => {
    const dry = await handler({ dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, published: 0, wouldPublish: 300, sendMessageBatchCalls: 30, s3Requests: { list: 18 } });
    expect((dry as unknown as { estimatedCostUsd: { total: number } }).estimatedCostUsd.total).toBeGreaterThan(0);
    expect(await aws.drain(queueUrl)).toEqual([]);
    expect(await handler({})).toMatchObject({ published: 300 });
    expect(await aws.drain(queueUrl)).toHaveLength(300);
    // The counter of S3 requests goes with the dry run: a second one counts afresh.
    expect(await handler({ dryRun: true })).toMatchObject({ s3Requests: { list: 18 } });
  });

  it("makes every run a dry one under the stack's DRY_RUN, the chain's next invocation included", async () => {
    vi.resetModules();
    process.env.DRY_RUN = 'true';
    try {
      const { handler: dryHandler } = await import('../../handlers/backfill.ts');
      expect(await dryHandler({})).toMatchObject({ dryRun: true, published: 0, wouldPublish: 300 });
      expect(await aws.drain(queueUrl)).toEqual([]);
      const before = invocations.length;
      await dryHandler({ bucket: 'handler-chain', timeBudgetMs: 1 }, lambdaContext(900_000));
      expect(invocations[before]?.payload).toMatchObject({ dryRun: true });
    } finally {
      delete process.env.DRY_RUN;
      invocations.length = 0;
    }
  });

  it('invokes itself with the continuation until the bucket is done', async () => {
    // A budget of 1 ms stops every run after its first key: a chain of one invocation per key.
    const first = await handler({ bucket: 'handler-chain', timeBudgetMs: 1 }, lambdaContext(900_000));
    expect(first.done).toBe(false);
    expect(invocations[0]).toEqual({
      path: `/2015-03-31/functions/${FUNCTION_ARN}/invocations`,
      invocationType: 'Event',
      payload: { bucket: 'handler-chain', continuation: first.continuation, timeBudgetMs: 1, chain: true, invocation: 2 },
    });
    const runs = [first];
    while (invocations.length >= runs.length) {
      runs.push(await handler(invocations[runs.length - 1]?.payload as never, lambdaContext(900_000)));
    }
    expect(runs.at(-1)?.done).toBe(true);
    expect(runs.length).toBeGreaterThan(1);
    // Each run makes progress: it publishes a key, or it finds none left and is done.
    expect(runs.every((run) => run.published >= 1 || run.done)).toBe(true);
    expect(runs.reduce((total, run) => total + run.published, 0)).toBe(4);
    expect(await aws.drain(queueUrl)).toHaveLength(4);
  });

  it('continues as the version or alias it was invoked as', async () => {
    for (const qualifier of ['live', '7', '$LATEST']) {
      invocations.length = 0;
      const qualified = { ...lambdaContext(900_000), invokedFunctionArn: `${FUNCTION_ARN}:${qualifier}` } as Context;
      const first = await handler({ bucket: 'handler-chain', timeBudgetMs: 1 }, qualified);
      expect(first.done).toBe(false);
      expect(invocations.map((invocation) => invocation.path)).toEqual([`/2015-03-31/functions/${FUNCTION_ARN}:${qualifier}/invocations`]);
    }
    await aws.drain(queueUrl);
  });

  it('only returns the continuation when asked not to chain', async () => {
    invocations.length = 0;
    const summary = await handler({ bucket: 'handler-chain', timeBudgetMs: 1, chain: false }, lambdaContext(900_000));
    expect(summary.continuation).toBeDefined();
    expect(invocations).toHaveLength(0);
    await aws.drain(queueUrl);
  });

  it('rejects a bad event, naming the field', async () => {
    await expect(handler({ bucket: 'Not_A_Bucket' }, lambdaContext(900_000))).rejects.toThrow(
      'backfill event: "bucket" "Not_A_Bucket" is not a valid bucket name',
    );
  });
});

describe('parseBackfillEvent', () => {
  const continuation = { bucket: 'photos', prefix: 'a/', ranges: [{ startAfter: 'a/5x', end: 'a/6' }, { startAfter: 'a/f' }] };

  it('takes the bucket and prefix from a continuation', () => {
    expect(parseBackfillEvent({ continuation }, 'default-bucket')).toEqual({ bucket: 'photos', continuation, invocation: 1 });
  });

  it.each([
    [{}, undefined, '"bucket" is required'],
    [{ bucket: 3 }, 'x', '"bucket" must be a string'],
    [{ prefix: 1 }, 'photos', '"prefix" must be a string'],
    [{ continuation: { bucket: 'photos' } }, 'photos', '"continuation" must be the continuation object'],
    [{ bucket: 'other', continuation }, undefined, '"continuation" belongs to bucket "photos", not "other"'],
    [{ prefix: 'b/', continuation }, undefined, '"continuation" belongs to prefix "a/", not "b/"'],
    [{ timeBudgetMs: 0 }, 'photos', '"timeBudgetMs" must be a whole number of at least 1'],
    [{ chain: 'yes' }, 'photos', '"chain" must be true or false'],
    [[], 'photos', 'the event must be a JSON object'],
    [{ continuation: { ...continuation, ranges: [] } }, undefined, '"continuation" has no ranges'],
    [{ continuation: { ...continuation, ranges: [{ startAfter: 'a/6', end: 'a/5' }] } }, undefined, 'range 1 of 1 is empty or inverted'],
    [
      {
        continuation: {
          ...continuation,
          ranges: [
            { startAfter: 'a/1', end: 'a/6' },
            { startAfter: 'a/5', end: 'a/7' },
          ],
        },
      },
      undefined,
      'range 1 of 2 overlaps the next one',
    ],
    [
      {
        continuation: {
          ...continuation,
          ranges: [
            { startAfter: 'a/8', end: 'a/9' },
            { startAfter: 'a/1', end: 'a/2' },
          ],
        },
      },
      undefined,
      'out of order',
    ],
    [
      { continuation: { ...continuation, ranges: [{ startAfter: 'a/1' }, { startAfter: 'a/5' }] } },
      undefined,
      'range 1 of 2 overlaps the next one',
    ],
    [
      { continuation: { ...continuation, ranges: [{ startAfter: 'b/1', end: 'b/2' }] } },
      undefined,
      'bound "b/1" is not under the prefix "a/"',
    ],
  ])('rejects %j', (event, defaultBucket, message) => {
    expect(() => parseBackfillEvent(event, defaultBucket)).toThrow(InvalidArgumentError);
    expect(() => parseBackfillEvent(event, defaultBucket)).toThrow(message);
  });
});

describe('publishingBudget', () => {
  it('keeps a minute in reserve, or a fifth of the time when that is less', () => {
    expect(publishingBudget(900_000)).toBe(840_000);
    expect(publishingBudget(100_000)).toBe(80_000);
    expect(publishingBudget(0)).toBe(1);
  });
});
