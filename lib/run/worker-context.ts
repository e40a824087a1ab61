import type { SQSClient } from '@aws-sdk/client-sqs';
import { createControlSqsClient } from '../core/aws-clients.ts';
import { createMetrics } from '../core/metrics.ts';
import { loadWorkerTuning, type Environment } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';

import { pipelineFromEnvironment } from '../publish/pipeline.ts';
import { queueUrlFromEnvironment } from '../core/queue-lookup.ts';
import type { Log } from '../core/types.ts';
import type { WorkerContext } from './types.ts';

/** The internal work queue from `WORK_QUEUE_URL` or `WORK_QUEUE_NAME`, with a retrying client. */
export async function workQueueFromEnvironment(env: Environment): Promise<{ work: SQSClient; workQueueUrl: string }> {
  const workQueueUrl = await queueUrlFromEnvironment(env, 'WORK_QUEUE');
  if (!workQueueUrl) throw new ConfigError('WORK_QUEUE_URL (or WORK_QUEUE_NAME) is required: the queue of part tasks');
  return { work: createControlSqsClient(env), workQueueUrl };
}

/** Everything a worker invocation needs, from the function's environment. */
export async function workerContextFromEnvironment(env: Environment, log: Log): Promise<WorkerContext & { timeBudgetMs?: number }> {
  const { timeBudgetMs, ...tuning } = loadWorkerTuning(env);
  const [pipeline, { work, workQueueUrl }] = await Promise.all([pipelineFromEnvironment(env, log), workQueueFromEnvironment(env)]);
  return {
    ...pipeline,
    metrics: createMetrics(env),
    work,
    settings: { ...tuning, workQueueUrl },
    ...(timeBudgetMs !== undefined && { timeBudgetMs }),
  };
}
