import type { S3Client } from '@aws-sdk/client-s3';
import { createAwsClients } from '../core/aws-clients.ts';
import { BatchPublisher } from './batch-publisher.ts';
import { DiscardingSender } from './discarding-sender.ts';
import { RateLimiter } from './rate-limiter.ts';
import { createBatchSender } from './batch-sender.ts';
import type { BatchSender } from './types.ts';
import { loadConfig, type Environment, type ObjectFilter, type PipelineConfig } from '../core/config.ts';
import { RunFailedError } from '../core/errors.ts';
import { queueUrlFromEnvironment } from '../core/queue-lookup.ts';
import type { RunStats, StatsSummary } from '../core/run-stats.ts';
import type { Log, ObjectRef, SkipReason } from '../core/types.ts';

/** What every run needs: clients, settings and a log. */
export interface PipelineContext {
  s3: S3Client;
  /** SendMessageBatch calls to the target queue. */
  sender: BatchSender;
  config: PipelineConfig;
  log: Log;
  /** `MAX_MESSAGES_PER_SECOND`: this process's share of the cap (all of it, but in a run of several workers). */
  limiter?: RateLimiter;
}

/**
 * The one path from any key source to SQS: the key pattern, then the batch publisher. Sources hand
 * over keys in batches (a listing page, a chunk of CSV), so a key costs no `await` of its own;
 * backpressure still holds per key. Returns when every batch has settled, even when the source
 * broke off, so the counters are final; then throws the first error, if any. `onSettled` hears of
 * every object received once it is done with: `true` when skipped or published, `false` when it
 * failed (the inventory worker checkpoints on it).
 */
export async function publishAll<T extends ObjectRef>(
  keys: AsyncIterable<readonly T[]>,
  context: PipelineContext,
  stats: RunStats,
  onSettled?: (object: T, done: boolean) => void,
): Promise<void> {
  const { config } = context;
  const publisher = new BatchPublisher(context.sender, {
    queueUrl: config.queueUrl,
    concurrency: config.concurrency,
    maxAttempts: config.maxAttempts,
    fifoMessageGroups: config.fifoMessageGroups,
    messageFields: config.messageFields,
    messageFormat: config.messageFormat,
    ...(config.region && { region: config.region }),
    ...(onSettled && { onSettled: onSettled as (object: ObjectRef, published: boolean) => void }),
    ...(context.limiter && { limiter: context.limiter }),
    stats,
    log: context.log,
  });
  // The filter object holds only the filters set: with none, no object's details are read.
  const filtering = Object.keys(config.filter).length > 0;
  let failure: unknown;
  try {
    for await (const batch of keys) {
      for (const object of batch) {
        const skipped =
          config.keyPattern && !config.keyPattern.test(object.key)
            ? 'patternMismatch'
            : filtering
              ? filteredOut(config.filter, object)
              : undefined;
        if (skipped) {
          stats.skip(skipped);
          onSettled?.(object, true);
          continue;
        }
        const wait = publisher.publish(object);
        if (wait) await wait;
      }
    }
  } catch (error) {
    failure = error;
  }
  try {
    await publisher.flush();
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) throw failure;
}

/**
 * The filter an object falls outside of, if any. Every source reads the fields the filters need
 * (`readFields`), and a report without their columns is refused at start, so a missing value here
 * means the object has none (an S3 listing names no storage class for STANDARD).
 */
export function filteredOut(filter: ObjectFilter, object: ObjectRef): SkipReason | undefined {
  const { storageClass = 'STANDARD', accessTier, size, lastModified } = object.details ?? {};
  // An Intelligent-Tiering object in an archive tier answers to the tier's name as well as its class's.
  const names =
    storageClass === 'INTELLIGENT_TIERING' && accessTier?.endsWith('ARCHIVE_ACCESS') ? [storageClass, accessTier] : [storageClass];
  if (filter.storageClassInclude && !names.some((name) => filter.storageClassInclude?.includes(name))) return 'storageClass';
  if (names.some((name) => filter.storageClassExclude?.includes(name))) return 'storageClass';
  if ((filter.minSize !== undefined && (size ?? 0) < filter.minSize) || (filter.maxSize !== undefined && (size ?? 0) > filter.maxSize))
    return 'size';
  const time = lastModified ? Date.parse(lastModified) : Number.NaN;
  if (filter.modifiedAfter !== undefined && !(time >= filter.modifiedAfter)) return 'lastModified';
  if (filter.modifiedBefore !== undefined && !(time < filter.modifiedBefore)) return 'lastModified';
  return undefined;
}

/**
 * Ends a run: returns its summary when every key was published, else throws a RunFailedError whose
 * message says how many keys were not published and names the first of them.
 */
export function requireAllPublished<Summary extends StatsSummary>(label: string, summary: Summary, cause?: unknown): Summary {
  const otherBucket = summary.skippedByReason.otherBucket ?? 0;
  if (cause === undefined && summary.failed === 0 && otherBucket === 0) return summary;
  const problems: string[] = [];
  if (cause !== undefined) problems.push(cause instanceof Error ? cause.message : String(cause));
  if (otherBucket > 0) problems.push(otherBucketProblem(otherBucket, summary.otherBuckets));
  if (summary.failed > 0) {
    const examples = (summary.failedKeys ?? []).slice(0, 5).map((failed) => `"${failed.key}" (${failed.reason})`);
    const more = summary.failed > examples.length ? `, and ${summary.failed - examples.length} more` : '';
    problems.push(`${summary.failed} keys were not published: ${examples.join(', ')}${more}`);
  }
  throw new RunFailedError(`${label} failed after publishing ${summary.published} keys: ${problems.join('; ')}`, summary, {
    cause,
  });
}

/** What a run says of rows that named another bucket than its report's: none was published. */
export function otherBucketProblem(rows: number, buckets: readonly string[] = []): string {
  return `${rows} rows named another bucket than the report's source bucket (${buckets.map((bucket) => `"${bucket}"`).join(', ')}), and were not published: S3 never writes such a row, so the report's files are not all S3's`;
}

/** Clients sized for the configured concurrency; built once per Lambda container or CLI run. */
export function createPipelineContext(config: PipelineConfig, log: Log): PipelineContext {
  const { s3, sqs } = createAwsClients(config);
  const { concurrency, requestTimeoutMs, endpointUrl } = config;
  // A dry run sends nothing; the publisher counts its batches as for a real run.
  const sender = config.dryRun
    ? new DiscardingSender()
    : createBatchSender(config.sqsClient, sqs, { concurrency, requestTimeoutMs, ...(endpointUrl && { endpointUrl }) });
  return {
    s3,
    sender,
    config,
    log,
    ...(config.maxMessagesPerSecond && { limiter: new RateLimiter(config.maxMessagesPerSecond) }),
  };
}

/**
 * The pipeline of a Lambda function, from its environment. The target queue is `QUEUE_URL`, or is
 * looked up from `QUEUE_ARN` (an existing queue given to the stack) or `QUEUE_NAME` (its own).
 */
export async function pipelineFromEnvironment(env: Environment, log: Log): Promise<PipelineContext> {
  const queueUrl = await queueUrlFromEnvironment(env, 'QUEUE');
  return createPipelineContext(loadConfig(queueUrl ? { ...env, QUEUE_URL: queueUrl } : env), log);
}
