import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ConfigError, InvalidArgumentError } from '../lib/core/errors.ts';
import { lazy } from '../lib/core/lazy.ts';
import { createLogger } from '../lib/core/logger.ts';
import { createMetrics } from '../lib/core/metrics.ts';
import { liveSelectionProblem, liveSettingsFromEnvironment, publishLiveBatch } from '../lib/live/live-publish.ts';
import { pipelineFromEnvironment } from '../lib/publish/pipeline.ts';
import { publishSharingCap } from '../lib/run/rate-share.ts';

const logger = createLogger();
const metrics = createMetrics();
// Built on the first invocation and reused while the container lives (clients keep their sockets).
const live = lazy(async () => {
  const problem = liveSelectionProblem(process.env);
  if (problem) throw new ConfigError(problem);
  const settings = liveSettingsFromEnvironment(process.env);
  return {
    pipeline: await pipelineFromEnvironment(process.env, logger),
    settings: { ...settings, ...(settings.record && { publish: publishSharingCap(settings.record) }) },
  };
});

/** Kept of the invocation's time for the sends already handed over, and the record. */
const DEADLINE_MARGIN_MS = 15_000;

/**
 * A batch of the live buffer queue (S3's "Object Created" events through EventBridge, up to
 * 10,000 at once) → one message per object written, through the same publisher as the reports,
 * under `MAX_MESSAGES_PER_SECOND` shared by the invocations publishing at once; the records whose
 * objects could not be published, or not before the deadline, are returned for SQS to deliver again.
 */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  if (context) logger.addContext(context);
  if (!Array.isArray((event as Partial<SQSEvent> | null)?.Records)) {
    throw new InvalidArgumentError('live event has no "Records" array: expected an SQS event of the live buffer queue');
  }
  const { pipeline, settings } = await live();
  // Past the deadline, the batch's objects not yet handed over go back to the queue.
  const deadline = context ? Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS : undefined;
  const { batchItemFailures, ...outcome } = await publishLiveBatch(event.Records, pipeline, settings, deadline);
  metrics.addMetric('LivePublished', MetricUnit.Count, outcome.published);
  if (outcome.lagMsP50 !== undefined) metrics.addMetric('LiveLagMsP50', MetricUnit.Milliseconds, outcome.lagMsP50);
  if (outcome.lagMsP99 !== undefined) metrics.addMetric('LiveLagMsP99', MetricUnit.Milliseconds, outcome.lagMsP99);
  metrics.publishStoredMetrics();
  logger.info('live batch published', { ...outcome, records: event.Records.length, failed: batchItemFailures.length });
  return { batchItemFailures };
}
