import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseBackfillEvent, parseBackfillRunEvent } from '../../lib/backfill/event.ts';
import { publishingBudget } from '../../lib/core/time-budget.ts';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import { seedBucket } from '../../lib/local/sample-objects.ts';
import type { RangeTask } from '../../lib/run/range-task.ts';
import { getJson } from '../../lib/run/state.ts';
import type { BackfillClaim } from '../../lib/run/types.ts';
import { useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
let handler: typeof import('../../handlers/backfill.ts').handler;
let workQueueUrl: string;

beforeAll(async () => {
  await aws.createBucket('handler-source');
  await seedBucket(aws.s3, 'handler-source', { count: 30 });
  await aws.createBucket('handler-state');
  workQueueUrl = await aws.createQueue('backfill-handler-work');
  Object.assign(process.env, {
    QUEUE_URL: await aws.createQueue('backfill-handler'),
    WORK_QUEUE_URL: workQueueUrl,
    RUN_STATE_BUCKET: 'handler-state',
    BACKFILL_STATE_PREFIX: 'inventory/_backfill/',
    WORKER_CONCURRENCY: '50',
    SOURCE_BUCKET: 'handler-source',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  ({ handler } = await import('../../handlers/backfill.ts'));
});

const lambdaContext = (awsRequestId: string) => ({ awsRequestId, getRemainingTimeInMillis: () => 900_000 }) as Context;
const queuedTasks = async () => (await aws.drain(workQueueUrl)).map((body) => JSON.parse(body) as RangeTask);

describe('backfill handler', () => {
  it('plans a run of the configured source bucket and returns at once: its id, where its state is, seventeen ranges queued', async () => {
    const plan = await handler({}, lambdaContext('request-1'));
    const stateLocation = 's3://handler-state/inventory/_backfill/handler-source/request-1/s3-to-sqs/';
    expect(plan).toEqual({ runId: 'request-1', bucket: 'handler-source', prefix: '', status: 'started', stateLocation, ranges: 17 });
    const tasks = await queuedTasks();
    expect(tasks.map((task) => task.id).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 17 }, (_, index) => String(index)),
    );
    expect(tasks[0]).toMatchObject({ kind: 'range', runId: 'request-1', sourceBucket: 'handler-source', budget: 100, sequence: 0 });
    const claim = await getJson<BackfillClaim>(
      aws.s3,
      'handler-state',
      'inventory/_backfill/handler-source/request-1/s3-to-sqs/claim.json',
    );
    expect(claim?.value).toMatchObject({ kind: 'backfill', runId: 'request-1', roots: 17, budget: 100 });
    // Lambda's retry of the same event (the same request id) queues the ranges again, for the same run.
    expect(await handler({}, lambdaContext('request-1'))).toMatchObject({ runId: 'request-1', status: 'resumed' });
    expect(await queuedTasks()).toHaveLength(17);
  });

  it('passes a prefix, a time and a dry run on to every range', async () => {
    const plan = await handler({ prefix: 'a', modifiedSince: '2026-01-01T00:00:00Z', dryRun: true }, lambdaContext('request-2'));
    expect(plan).toMatchObject({ prefix: 'a', dryRun: true });
    const tasks = await queuedTasks();
    expect(tasks.every((task) => task.dryRun === true && task.prefix === 'a' && task.modifiedSince === '2026-01-01T00:00:00.000Z')).toBe(
      true,
    );
    expect(
      tasks.every((task) => [task.range.startAfter, task.range.end].every((bound) => bound === undefined || bound.startsWith('a'))),
    ).toBe(true);
  });

  it("makes every run a dry one under the stack's DRY_RUN", async () => {
    vi.resetModules();
    process.env.DRY_RUN = 'true';
    try {
      const { handler: dryHandler } = await import('../../handlers/backfill.ts');
      expect(await dryHandler({}, lambdaContext('request-3'))).toMatchObject({ dryRun: true });
      expect((await queuedTasks()).every((task) => task.dryRun === true)).toBe(true);
    } finally {
      delete process.env.DRY_RUN;
    }
  });

  it('refuses, before queuing anything, a bucket that does not exist, a bad event, and a continuation of the in-process backfill', async () => {
    await expect(handler({ bucket: 'no-such-bucket' }, lambdaContext('request-4'))).rejects.toThrow(InvalidArgumentError);
    await expect(handler({ bucket: 'Not_A_Bucket' }, lambdaContext('request-5'))).rejects.toThrow(
      'backfill event: "bucket" "Not_A_Bucket" is not a valid bucket name',
    );
    await expect(handler({ continuation: {} } as never, lambdaContext('request-6'))).rejects.toThrow(
      `backfill event: "continuation" belongs to the CLI's in-process backfill`,
    );
    expect(await queuedTasks()).toEqual([]);
  });
});

describe('parseBackfillRunEvent', () => {
  it.each(['continuation', 'timeBudgetMs', 'chain', 'invocation'])('refuses "%s", which only the in-process backfill takes', (field) => {
    expect(() => parseBackfillRunEvent({ [field]: 1 }, 'photos')).toThrow(`"${field}" belongs to the CLI's in-process backfill`);
  });

  it('takes bucket, prefix, modifiedSince and dryRun', () => {
    expect(parseBackfillRunEvent({ prefix: 'a/', dryRun: true, modifiedSince: '2026-01-01T00:00:00Z' }, 'photos')).toEqual({
      bucket: 'photos',
      prefix: 'a/',
      dryRun: true,
      modifiedSince: new Date('2026-01-01T00:00:00Z'),
    });
  });
});

describe('parseBackfillEvent', () => {
  const continuation = { bucket: 'photos', prefix: 'a/', ranges: [{ startAfter: 'a/5x', end: 'a/6' }, { startAfter: 'a/f' }] };

  it('takes the bucket and prefix from a continuation', () => {
    expect(parseBackfillEvent({ continuation }, 'default-bucket')).toEqual({ bucket: 'photos', continuation });
  });

  it.each([
    [{}, undefined, '"bucket" is required'],
    [{ bucket: 3 }, 'x', '"bucket" must be a string'],
    [{ prefix: 1 }, 'photos', '"prefix" must be a string'],
    [{ continuation: { bucket: 'photos' } }, 'photos', '"continuation" must be the continuation object'],
    [{ bucket: 'other', continuation }, undefined, '"continuation" belongs to bucket "photos", not "other"'],
    [{ prefix: 'b/', continuation }, undefined, '"continuation" belongs to prefix "a/", not "b/"'],
    [{ timeBudgetMs: 0 }, 'photos', '"timeBudgetMs" must be a whole number of at least 1'],
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
