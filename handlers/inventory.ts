import type { Context, S3Event } from 'aws-lambda';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { startInventoryRun, type FanOutSummary } from '../lib/run/fan-out.ts';
import { loadSelection } from '../lib/core/config.ts';
import { lazy } from '../lib/core/lazy.ts';
import { manifestLocations } from '../lib/inventory/s3-event.ts';
import { workQueueFromEnvironment } from '../lib/run/worker-context.ts';
import { createLogger } from '../lib/core/logger.ts';

const logger = createLogger();
// Built on the first invocation and reused while the container lives.
const clients = lazy(async () => ({
  s3: createAwsClientsFromEnvironment(16).s3,
  ...(await workQueueFromEnvironment(process.env)),
  selection: loadSelection(process.env),
}));

/**
 * S3 ObjectCreated on an inventory manifest.json → the report's run is claimed and one task per
 * data file is queued for the `worker` function. A second delivery of the same event starts nothing.
 */
export async function handler(event: S3Event, context?: Context): Promise<{ runs: FanOutSummary[] }> {
  if (context) logger.addContext(context);
  const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 60_000);
  const runs: FanOutSummary[] = [];
  const failures: Error[] = [];
  for (const location of manifestLocations(event, logger)) {
    try {
      runs.push(await startInventoryRun(location, { ...(await clients()), log: logger, deadline }));
    } catch (error) {
      logger.error('inventory run could not start', { manifest: `s3://${location.bucket}/${location.key}`, error: error as Error });
      failures.push(error as Error);
    }
  }
  // Throwing hands the event to Lambda's retries and then to the on-failure destination.
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} inventory runs could not start`);
  return { runs };
}
