import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { createControlSqsClient } from './aws-clients.ts';
import type { Environment } from './config.ts';
import { ConfigError } from './errors.ts';

/**
 * The URL of a queue named in the environment as `<PREFIX>_URL`, or looked up with GetQueueUrl
 * from `<PREFIX>_ARN` or `<PREFIX>_NAME`: a stack knows its queues' names and ARNs without
 * credentials, but not their URLs. Undefined when none is set.
 */
export async function queueUrlFromEnvironment(env: Environment, prefix: 'QUEUE' | 'WORK_QUEUE'): Promise<string | undefined> {
  const url = env[`${prefix}_URL`]?.trim();
  if (url) return url;
  const queue = queueToLookUp(env, prefix);
  if (!queue) return undefined;
  const sqs = createControlSqsClient(env);
  try {
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: queue.name, ...(queue.owner && { QueueOwnerAWSAccountId: queue.owner }) }),
    );
    return QueueUrl;
  } catch (error) {
    throw new ConfigError(`${queue.variable}: the queue could not be found: ${(error as Error).name}: ${(error as Error).message}`);
  } finally {
    sqs.destroy();
  }
}

function queueToLookUp(env: Environment, prefix: string): { name: string; owner?: string; variable: string } | undefined {
  const arnVariable = `${prefix}_ARN`;
  const arn = env[arnVariable]?.trim();
  if (arn) {
    const match = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([\w-]+(?:\.fifo)?)$/.exec(arn);
    if (!match) throw new ConfigError(`${arnVariable} "${arn}" is not an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)`);
    const [, region, owner, name] = match as unknown as [string, string, string, string];
    if (env.AWS_REGION && region !== env.AWS_REGION) {
      throw new ConfigError(`${arnVariable} "${arn}" is in ${region}; the queue must be in this function's region, ${env.AWS_REGION}`);
    }
    return { name, owner, variable: `${arnVariable} "${arn}"` };
  }
  const nameVariable = `${prefix}_NAME`;
  const name = env[nameVariable]?.trim();
  return name ? { name, variable: `${nameVariable} "${name}"` } : undefined;
}
