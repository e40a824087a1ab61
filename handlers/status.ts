import type { Context } from 'aws-lambda';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { InvalidArgumentError } from '../lib/core/errors.ts';
import { lazy } from '../lib/core/lazy.ts';
import { runStatus } from '../lib/run/report.ts';
import { runStateStoreFromEnvironment } from '../lib/run/state.ts';
import { parseS3Uri } from '../lib/core/s3-location.ts';
import { runBackfillStatus } from '../lib/run/backfill-status.ts';
import type { BackfillStatus, RunStatus } from '../lib/run/types.ts';

// Built on the first invocation and reused while the container lives.
const clients = lazy(async () => createAwsClientsFromEnvironment(4));

/**
 * `sls invoke -f status --data '{"manifest":"s3://…/manifest.json"}'`: how far that report's run
 * has come; `{"run":"s3://…/s3-to-sqs/"}` (the state location the backfill function returned):
 * how far that backfill run has.
 */
export async function handler(
  event: { manifest?: unknown; run?: unknown } | null,
  _context?: Context,
): Promise<RunStatus | BackfillStatus> {
  const { s3 } = await clients();
  if (typeof event?.run === 'string') {
    if (!event.run.endsWith('/s3-to-sqs/'))
      throw new InvalidArgumentError('status event: "run" must be the stateLocation the backfill function returned');
    const { bucket, key } = parseS3Uri(event.run);
    return runBackfillStatus(s3, { bucket, prefix: key });
  }
  if (typeof event?.manifest !== 'string') {
    throw new InvalidArgumentError(
      'status event: "manifest" must be an s3://…/manifest.json URI, or "run" a backfill run\'s state location',
    );
  }
  return runStatus(s3, parseS3Uri(event.manifest), runStateStoreFromEnvironment(process.env));
}
