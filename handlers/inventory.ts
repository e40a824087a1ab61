import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, S3Event } from 'aws-lambda';
import { RunFailedError } from '../lib/errors.ts';
import { publishInventoryReport, type InventorySummary } from '../lib/inventory-job.ts';
import { pipelineOnce } from '../lib/publish-pipeline.ts';
import { manifestLocations } from '../lib/s3-event.ts';

const logger = new Logger({ serviceName: 's3-to-sqs' });
// Built on the first invocation and reused while the container lives (clients keep their sockets).
const pipeline = pipelineOnce(process.env, logger);

/** S3 ObjectCreated on an inventory manifest.json → one SQS message per current object. */
export async function handler(event: S3Event, context?: Context): Promise<{ reports: InventorySummary[] }> {
  if (context) logger.addContext(context);
  const reports: InventorySummary[] = [];
  const failures: Error[] = [];
  for (const location of manifestLocations(event, logger)) {
    try {
      const summary = await publishInventoryReport(location, await pipeline());
      logger.info('inventory report published', { ...summary });
      reports.push(summary);
    } catch (error) {
      const summary = error instanceof RunFailedError ? error.summary : undefined;
      logger.error('inventory report failed', { error: error as Error, summary });
      failures.push(error as Error);
    }
  }
  // Throwing hands the event to Lambda's retries and then to the on-failure destination.
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} inventory reports failed`);
  return { reports };
}
