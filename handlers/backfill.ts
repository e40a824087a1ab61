import { createLambdaClient } from '../lib/core/aws-clients.ts';
import type { Context } from 'aws-lambda';
import { invokeNext } from '../lib/backfill/chain.ts';
import { parseBackfillEvent, type BackfillEvent } from '../lib/backfill/event.ts';
import { backfillBucket, type BackfillSummary } from '../lib/backfill/job.ts';
import type { RunFailedError } from '../lib/core/errors.ts';
import { publishingBudget } from '../lib/core/time-budget.ts';
import { lazy } from '../lib/core/lazy.ts';
import { createMetrics, InvocationMetrics } from '../lib/core/metrics.ts';
import { RunStats } from '../lib/core/run-stats.ts';
import { DryRun } from '../lib/publish/dry-run.ts';
import { pipelineFromEnvironment } from '../lib/publish/pipeline.ts';
import { createLogger } from '../lib/core/logger.ts';

const logger = createLogger();
// Built on the first invocation and reused while the container lives (clients keep their sockets).
const pipeline = lazy(() => pipelineFromEnvironment(process.env, logger));
const metrics = createMetrics();
const lambda = lazy(async () => createLambdaClient());

/**
 * `sls invoke -f backfill --data '{"bucket":"…","prefix":"…"}'`: lists the bucket in parallel key
 * ranges and publishes one message per object. Stops before the Lambda timeout with a
 * continuation and, in Lambda, invokes itself with it until the bucket is done (`"chain": false`
 * to only return it).
 */
export async function handler(event: BackfillEvent | null, context?: Context): Promise<BackfillSummary> {
  if (context) logger.addContext(context);
  const request = parseBackfillEvent(event, process.env.SOURCE_BUCKET);
  const budgetMs = request.timeBudgetMs ?? (context ? publishingBudget(context.getRemainingTimeInMillis()) : undefined);
  const signal = budgetMs === undefined ? undefined : AbortSignal.timeout(budgetMs);

  let summary: BackfillSummary;
  const stats = new RunStats();
  const invocation = new InvocationMetrics(metrics, stats, logger, { sourceBucket: request.bucket });
  const base = await pipeline();
  // A dry run lists and selects as a real one; its batches are discarded, not sent.
  // The stack's DRY_RUN makes every run a dry one; an invocation's `dryRun` makes one.
  const dryRun = request.dryRun || base.config.dryRun ? new DryRun(base.s3) : undefined;
  try {
    const listed = await backfillBucket(request, dryRun ? { ...base, sender: dryRun.sender } : base, stats, signal);
    summary = dryRun ? dryRun.summary(listed, base.config.queueUrl) : listed;
  } catch (error) {
    logger.error('backfill failed', { error: error as Error, invocation: request.invocation, summary: (error as RunFailedError).summary });
    throw error;
  } finally {
    invocation.end();
  }
  if (!summary.done) invocation.record({ continuations: 1 });
  logger.info(summary.done ? 'backfill finished' : 'backfill stopped before the time limit', {
    invocation: request.invocation,
    ...summary,
  });

  // `sls invoke local` sets IS_LOCAL: there is no deployed function to invoke.
  const chain = request.chain ?? (context !== undefined && process.env.IS_LOCAL !== 'true');
  if (!summary.done && chain && context) {
    await invokeNext(await lambda(), context.invokedFunctionArn, {
      bucket: request.bucket,
      continuation: summary.continuation,
      ...(request.timeBudgetMs !== undefined && { timeBudgetMs: request.timeBudgetMs }),
      ...(request.modifiedSince && { modifiedSince: request.modifiedSince.toISOString() }),
      ...(dryRun && { dryRun: true }),
      chain: true,
      invocation: request.invocation + 1,
    });
    logger.info('backfill continues in the next invocation', { invocation: request.invocation + 1 });
  }
  return summary;
}
