import type { Context, SQSEvent } from 'aws-lambda';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { recordDeadLetters } from '../lib/run/part-failure.ts';
import { lazy } from '../lib/core/lazy.ts';
import { createLogger } from '../lib/core/logger.ts';

const logger = createLogger();
// Built on the first invocation and reused while the container lives.
const clients = lazy(async () => createAwsClientsFromEnvironment(4));

/** Tasks that failed every delivery → their parts recorded as failed, so the run's report says so. */
export async function handler(event: SQSEvent, context?: Context): Promise<void> {
  if (context) logger.addContext(context);
  await recordDeadLetters(event, (await clients()).s3, logger);
}
