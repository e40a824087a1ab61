import type { Context } from 'aws-lambda';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { startInventoryRun, type FanOutSummary } from '../lib/run/fan-out.ts';
import { loadSelection } from '../lib/core/config.ts';
import { lazy } from '../lib/core/lazy.ts';
import { acceptsManifest, type ManifestEvent, manifestFilterFromEnvironment, manifestLocations } from '../lib/inventory/s3-event.ts';
import { runStateStoreFromEnvironment } from '../lib/run/state.ts';
import { liveRecordStoreFromEnvironment } from '../lib/live/live-window.ts';
import { workQueueFromEnvironment } from '../lib/run/worker-context.ts';
import { createLogger } from '../lib/core/logger.ts';
import { EXIT_BAD_INPUT, exitCodeOf } from '../lib/core/errors.ts';

const logger = createLogger();
// Built on the first invocation and reused while the container lives.
const clients = lazy(async () => ({
  s3: createAwsClientsFromEnvironment(16).s3,
  ...(await workQueueFromEnvironment(process.env)),
  selection: loadSelection(process.env),
  stateStore: runStateStoreFromEnvironment(process.env),
  liveRecords: liveRecordStoreFromEnvironment(process.env),
  filter: manifestFilterFromEnvironment(process.env),
}));

/**
 * A new inventory manifest.json (an S3 notification from the stack's bucket, or S3's "Object
 * Created" event through EventBridge from an adopted one) → the report's run is claimed and one
 * task per data file is queued for the `worker` function. A second delivery, in either shape,
 * starts nothing.
 */
export async function handler(
  event: ManifestEvent,
  context?: Context,
): Promise<{ runs: FanOutSummary[]; refused?: Array<{ manifest: string; error: string }> }> {
  if (context) logger.addContext(context);
  const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 60_000);
  const runs: FanOutSummary[] = [];
  const failures: Error[] = [];
  const refused: Array<{ manifest: string; error: string }> = [];
  const { filter, ...fanOut } = await clients();
  for (const location of manifestLocations(event, logger)) {
    if (!acceptsManifest(filter, location)) {
      logger.info('ignored a report of a source bucket or configuration not accepted', {
        manifest: `s3://${location.bucket}/${location.key}`,
      });
      continue;
    }
    try {
      runs.push(await startInventoryRun(location, { ...fanOut, log: logger, deadline }));
    } catch (error) {
      const manifest = `s3://${location.bucket}/${location.key}`;
      logger.error('inventory run could not start', { manifest, error: error as Error });
      // A manifest refused by name would be refused again: Lambda's retries are for what may pass.
      if (exitCodeOf(error) === EXIT_BAD_INPUT && !(error as { transient?: boolean }).transient) {
        refused.push({ manifest, error: (error as Error).message });
      } else failures.push(error as Error);
    }
  }
  // Throwing hands the event to Lambda's retries and then to the on-failure destination.
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} inventory runs could not start`);
  return { runs, ...(refused.length > 0 && { refused }) };
}
