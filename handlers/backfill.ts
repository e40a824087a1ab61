import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { parseBackfillRunEvent, type BackfillEvent } from '../lib/backfill/event.ts';
import { requireListableFields } from '../lib/backfill/job.ts';
import { loadSelection, loadWorkerConcurrency } from '../lib/core/config.ts';
import { ConfigError } from '../lib/core/errors.ts';
import { lazy } from '../lib/core/lazy.ts';
import { type BackfillPlan, startBackfillRun } from '../lib/run/backfill-run.ts';
import { backfillStoreFromEnvironment } from '../lib/run/state.ts';
import { workQueueFromEnvironment } from '../lib/run/worker-context.ts';
import { createLogger } from '../lib/core/logger.ts';

const logger = createLogger();
// Built on the first invocation and reused while the container lives.
const clients = lazy(async () => {
  const store = backfillStoreFromEnvironment(process.env);
  if (!store) throw new ConfigError('RUN_STATE_BUCKET is required: the bucket where backfill runs keep their state');
  return {
    s3: createAwsClientsFromEnvironment(16).s3,
    ...(await workQueueFromEnvironment(process.env)),
    store,
    selection: loadSelection(process.env),
    workerConcurrency: loadWorkerConcurrency(process.env),
  };
});

/**
 * `sls invoke -f backfill --data '{"bucket":"…","prefix":"…"}'`: plans a backfill run and returns
 * at once with its id and where its state is. The key space is cut into ranges queued on the work
 * queue; the `worker` function lists each, splits the large ones further and publishes one message
 * per object; the last range to finish writes the run's report.json. `npm run cli -- status
 * <stateLocation>` shows its progress.
 */
export async function handler(event: BackfillEvent | null, context?: Context): Promise<BackfillPlan> {
  if (context) logger.addContext(context);
  const request = parseBackfillRunEvent(event, process.env.SOURCE_BUCKET);
  const { selection, ...fleet } = await clients();
  requireListableFields(selection.messageFields);
  // The stack's DRY_RUN makes every run a dry one; an invocation's `dryRun` makes one.
  const dryRun = request.dryRun === true || selection.dryRun;
  return startBackfillRun(
    { ...request, dryRun },
    // Lambda keeps the request id when it retries an event: the retry resumes the same run.
    { ...fleet, runId: context?.awsRequestId ?? randomUUID(), log: logger },
  );
}
