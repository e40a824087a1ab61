import type { S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createAwsClients } from './aws-clients.ts';
import { BatchPublisher } from './batch-publisher.ts';
import { loadConfig, type Environment, type PipelineConfig } from './config.ts';
import { ConfigError, RunFailedError } from './errors.ts';
import type { RunStats, StatsSummary } from './run-stats.ts';
import type { Log, ObjectRef } from './types.ts';

/** What every run needs: clients, settings and a log. */
export interface PipelineContext {
  s3: S3Client;
  sqs: SQSClient;
  config: PipelineConfig;
  log: Log;
}

/**
 * The one path from any key source to SQS: the key pattern, then the batch publisher. Returns when
 * every batch has settled, even when the source broke off, so the counters are final; then throws
 * the first error, if any. `onSettled` hears of every object received once it is done with:
 * skipped, published or failed (the inventory worker checkpoints on it).
 */
export async function publishAll<T extends ObjectRef>(
  keys: AsyncIterable<T>,
  context: PipelineContext,
  stats: RunStats,
  onSettled?: (object: T) => void,
): Promise<void> {
  const { config } = context;
  const publisher = new BatchPublisher(context.sqs, {
    queueUrl: config.queueUrl,
    concurrency: config.concurrency,
    maxAttempts: config.maxAttempts,
    fifoMessageGroups: config.fifoMessageGroups,
    ...(onSettled && { onSettled: onSettled as (object: ObjectRef) => void }),
    stats,
    log: context.log,
  });
  let failure: unknown;
  try {
    for await (const object of keys) {
      if (config.keyPattern && !config.keyPattern.test(object.key)) {
        stats.skip('patternMismatch');
        onSettled?.(object);
        continue;
      }
      await publisher.publish(object);
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
 * Ends a run: returns its summary when every key was published, else throws a RunFailedError whose
 * message says how many keys were not published and names the first of them.
 */
export function requireAllPublished<Summary extends StatsSummary>(label: string, summary: Summary, cause?: unknown): Summary {
  if (cause === undefined && summary.failed === 0) return summary;
  const problems: string[] = [];
  if (cause !== undefined) problems.push(cause instanceof Error ? cause.message : String(cause));
  if (summary.failed > 0) {
    const examples = (summary.failedKeys ?? []).slice(0, 5).map((failed) => `"${failed.key}" (${failed.reason})`);
    const more = summary.failed > examples.length ? `, and ${summary.failed - examples.length} more` : '';
    problems.push(`${summary.failed} keys were not published: ${examples.join(', ')}${more}`);
  }
  throw new RunFailedError(`${label} failed after publishing ${summary.published} keys: ${problems.join('; ')}`, summary, {
    cause,
  });
}

/** Clients sized for the configured concurrency; built once per Lambda container or CLI run. */
export function createPipelineContext(config: PipelineConfig, log: Log): PipelineContext {
  return { ...createAwsClients(config), config, log };
}

/**
 * A Lambda container's pipeline, built on first use and kept. The target queue is `QUEUE_URL`, or
 * is looked up with GetQueueUrl from `QUEUE_ARN` (an existing queue given to the stack) or
 * `QUEUE_NAME` (the stack's own queue): without credentials the stack knows names and ARNs but not
 * URLs. A failed start is not kept: the next invocation tries again.
 */
export function pipelineOnce(env: Environment, log: Log): () => Promise<PipelineContext> {
  let pending: Promise<PipelineContext> | undefined;
  return () =>
    (pending ??= pipelineFromEnvironment(env, log).catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}

async function pipelineFromEnvironment(env: Environment, log: Log): Promise<PipelineContext> {
  const queue = env.QUEUE_URL?.trim() ? undefined : queueToLookUp(env);
  if (!queue) return createPipelineContext(loadConfig(env), log);
  const endpoint = env.AWS_ENDPOINT_URL?.trim();
  const sqs = new SQSClient(endpoint ? { endpoint } : {});
  try {
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: queue.name, ...(queue.owner && { QueueOwnerAWSAccountId: queue.owner }) }),
    );
    return createPipelineContext(loadConfig({ ...env, QUEUE_URL: QueueUrl }), log);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${queue.variable}: the queue could not be found: ${(error as Error).name}: ${(error as Error).message}`);
  } finally {
    sqs.destroy();
  }
}

function queueToLookUp(env: Environment): { name: string; owner?: string; variable: string } | undefined {
  const arn = env.QUEUE_ARN?.trim();
  if (arn) {
    const match = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([\w-]+(?:\.fifo)?)$/.exec(arn);
    if (!match) throw new ConfigError(`QUEUE_ARN "${arn}" is not an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)`);
    const [, region, owner, name] = match as unknown as [string, string, string, string];
    if (env.AWS_REGION && region !== env.AWS_REGION) {
      throw new ConfigError(`QUEUE_ARN "${arn}" is in ${region}; the queue must be in this function's region, ${env.AWS_REGION}`);
    }
    return { name, owner, variable: `QUEUE_ARN "${arn}"` };
  }
  const name = env.QUEUE_NAME?.trim();
  return name ? { name, variable: `QUEUE_NAME "${name}"` } : undefined;
}
