import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSEvent } from 'aws-lambda';
import { createAwsClients } from '../lib/aws-clients.ts';
import { recordFailedPart } from '../lib/part-failure.ts';
import { parsePartTask } from '../lib/part-task.ts';

const logger = new Logger({ serviceName: 's3-to-sqs' });
const { s3 } = createAwsClients({ concurrency: 4, endpointUrl: process.env.AWS_ENDPOINT_URL || undefined });

/** Tasks that failed every delivery → their parts recorded as failed, so the run's report says so. */
export async function handler(event: SQSEvent, context?: Context): Promise<void> {
  if (context) logger.addContext(context);
  for (const record of event.Records) {
    let task;
    try {
      task = parsePartTask(record.body);
    } catch (error) {
      logger.error('dropped a dead-letter message that is not a part task', { messageId: record.messageId, error: error as Error });
      continue;
    }
    const receives = record.attributes.ApproximateReceiveCount;
    await recordFailedPart(s3, task, `the task failed ${receives} times and went to the dead-letter queue`, logger);
  }
}
