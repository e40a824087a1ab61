import type { Context } from 'aws-lambda';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { InvalidArgumentError } from '../lib/core/errors.ts';
import { lazy } from '../lib/core/lazy.ts';
import { runStatus } from '../lib/run/report.ts';
import { runStateStoreFromEnvironment } from '../lib/run/state.ts';
import { parseS3Uri } from '../lib/core/s3-location.ts';
import type { RunStatus } from '../lib/run/types.ts';

// Built on the first invocation and reused while the container lives.
const clients = lazy(async () => createAwsClientsFromEnvironment(4));

/** `sls invoke -f status --data '{"manifest":"s3://…/manifest.json"}'`: how far that report's run has come. */
export async function handler(event: { manifest?: unknown } | null, _context?: Context): Promise<RunStatus> {
  if (typeof event?.manifest !== 'string') throw new InvalidArgumentError('status event: "manifest" must be an s3://…/manifest.json URI');
  return runStatus((await clients()).s3, parseS3Uri(event.manifest), runStateStoreFromEnvironment(process.env));
}
