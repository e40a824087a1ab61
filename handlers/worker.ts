import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lazy } from '../lib/core/lazy.ts';
import { runTaskBatch } from '../lib/run/part-worker.ts';
import { publishingBudget } from '../lib/core/time-budget.ts';
import { workerContextFromEnvironment } from '../lib/run/worker-context.ts';
import { createLogger } from '../lib/core/logger.ts';

const logger = createLogger();
// Built on the first invocation and reused while the container lives (clients keep their sockets).
const worker = lazy(() => workerContextFromEnvironment(process.env, logger));

/**
 * Work-queue tasks → one data file of a report published, or the rest of it queued as a new task
 * before the time runs out. A failed task is delivered again by SQS, and after the queue's
 * maxReceiveCount lands in the dead-letter queue.
 */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  if (context) logger.addContext(context);
  const settings = await worker();
  // TIME_BUDGET_MS, when set, replaces the budget from the time left (to force continuations locally).
  const budgetMs = () => settings.timeBudgetMs ?? publishingBudget(context?.getRemainingTimeInMillis() ?? 900_000);
  return runTaskBatch(event, settings, budgetMs);
}
