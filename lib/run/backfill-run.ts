import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { InvalidArgumentError } from '../core/errors.ts';
import { checkListable } from '../core/listing.ts';
import type { Log } from '../core/types.ts';
import { splitKeySpace } from '../backfill/key-ranges.ts';
import { queueTasks } from './part-task.ts';
import type { RangeTask } from './range-task.ts';
import { backfillRunFolder, claimKey, getJson, putJson, type RunStateStore } from './state.ts';
import type { BackfillClaim } from './types.ts';

/** What a backfill run lists: a bucket, under a prefix, objects modified since a time. */
export interface BackfillRunRequest {
  bucket: string;
  prefix?: string;
  modifiedSince?: Date;
  dryRun?: boolean;
}

export interface BackfillRunContext {
  s3: S3Client;
  work: SQSClient;
  workQueueUrl: string;
  /** Where backfill runs keep their state. */
  store: RunStateStore;
  /** The run's id: the invocation's request id, which Lambda keeps when it retries the event. */
  runId: string;
  /** Worker invocations at once: the ranges the run may grow to are a multiple of it. */
  workerConcurrency: number;
  log: Log;
}

export interface BackfillPlan {
  runId: string;
  bucket: string;
  prefix: string;
  /** `started`: this invocation planned the run; `resumed`: a retry of it queued its ranges again. */
  status: 'started' | 'resumed';
  /** Where the run's state and, at the end, its report.json are. */
  stateLocation: string;
  /** Ranges queued: the workers split them further where keys are many. */
  ranges: number;
  dryRun?: boolean;
}

/**
 * Each planned range may grow into this many ranges per worker invocation allowed at once: enough
 * that the workers stay busy whichever ranges hold the keys, few enough that the ranges' state
 * and the completion's listings stay cheap (docs/design.md, "Backfill").
 */
export const RANGES_PER_WORKER = 2;

/**
 * Plans a backfill run and hands it to the workers: the key space under the prefix is cut into
 * seventeen ranges (`splitKeySpace`), the plan is written once (`claim.json`), and one range task
 * per range is queued on the work queue. Returns at once; the workers list, split and publish,
 * and the last range to finish writes the run's `report.json`. A retry of the same invocation
 * (the same run id) queues the ranges again: a range's lease or result makes the copies no-ops.
 */
export async function startBackfillRun(request: BackfillRunRequest, context: BackfillRunContext): Promise<BackfillPlan> {
  const { s3, runId, store } = context;
  const { bucket } = request;
  const prefix = request.prefix ?? '';
  await checkListable(s3, bucket, prefix);
  const run = backfillRunFolder(store, bucket, runId);
  const roots = splitKeySpace(prefix);
  const claim: BackfillClaim = {
    kind: 'backfill',
    runId,
    bucket,
    prefix,
    roots: roots.length,
    budget: Math.max(2, RANGES_PER_WORKER * context.workerConcurrency),
    claimedAt: new Date().toISOString(),
    ...(request.modifiedSince && { modifiedSince: request.modifiedSince.toISOString() }),
    ...(request.dryRun && { dryRun: true }),
  };
  const status = await writePlan(s3, run, claim);
  const task = (range: (typeof roots)[number], index: number): RangeTask => ({
    kind: 'range',
    run,
    runId,
    sourceBucket: bucket,
    prefix,
    id: String(index),
    range,
    budget: claim.budget,
    sequence: 0,
    ...(claim.modifiedSince && { modifiedSince: claim.modifiedSince }),
    ...(claim.dryRun && { dryRun: true }),
  });
  await queueTasks(context.work, context.workQueueUrl, roots.map(task));
  const plan: BackfillPlan = {
    runId,
    bucket,
    prefix,
    status,
    stateLocation: `s3://${run.bucket}/${run.prefix}`,
    ranges: roots.length,
    ...(claim.dryRun && { dryRun: true }),
  };
  context.log.info('backfill run planned', { ...plan });
  return plan;
}

/** Writes the plan once; a retry finds its own plan there, and anything else is refused. */
async function writePlan(s3: S3Client, run: { bucket: string; prefix: string }, claim: BackfillClaim): Promise<'started' | 'resumed'> {
  if ((await putJson(s3, run.bucket, claimKey(run), claim, { ifNoneMatch: '*' })) !== undefined) return 'started';
  const existing = (await getJson<BackfillClaim>(s3, run.bucket, claimKey(run)))?.value;
  if (existing?.kind !== 'backfill' || existing.bucket !== claim.bucket || existing.prefix !== claim.prefix) {
    throw new InvalidArgumentError(`backfill run ${claim.runId} exists with another plan at s3://${run.bucket}/${run.prefix}`);
  }
  return 'resumed';
}
