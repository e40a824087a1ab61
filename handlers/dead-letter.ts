import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSEvent } from 'aws-lambda';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { recordDeadLetters } from '../lib/run/part-failure.ts';

const logger = new Logger({ serviceName: 's3-to-sqs' });
const { s3 } = createAwsClientsFromEnvironment(4);

/** Tasks that failed every delivery → their parts recorded as failed, so the run's report says so. */
export async function handler(event: SQSEvent, context?: Context): Promise<void> {
  if (context) logger.addContext(context);
  await recordDeadLetters(event, s3, logger);
}
