import {
  GetBucketNotificationConfigurationCommand,
  type NotificationConfiguration,
  PutBucketNotificationConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { httpStatusOf } from '../core/aws-errors.ts';
import type { Log } from '../core/types.ts';
import { isOutOfReach } from './custom-resource.ts';

/**
 * S3 keeps one notification configuration per bucket and its API replaces the whole of it, so
 * EventBridge delivery is turned on for a bucket the stack does not own by reading the
 * configuration and writing it back with EventBridge added: every Lambda, SQS and SNS
 * configuration the owner has stays as it was. `SkipDestinationValidation`: S3 would otherwise
 * test every existing destination again, and refuse the write for one that is gone.
 */
async function readConfiguration(s3: S3Client, bucket: string, purpose: string): Promise<NotificationConfiguration> {
  const { TopicConfigurations, QueueConfigurations, LambdaFunctionConfigurations, EventBridgeConfiguration } = await s3
    .send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }))
    .catch((error: unknown) => Promise.reject(namedError(error, bucket, purpose)));
  return {
    ...(TopicConfigurations?.length && { TopicConfigurations }),
    ...(QueueConfigurations?.length && { QueueConfigurations }),
    ...(LambdaFunctionConfigurations?.length && { LambdaFunctionConfigurations }),
    ...(EventBridgeConfiguration && { EventBridgeConfiguration }),
  };
}

function writeConfiguration(s3: S3Client, bucket: string, configuration: NotificationConfiguration): Promise<unknown> {
  return s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: configuration,
      SkipDestinationValidation: true,
    }),
  );
}

function namedError(error: unknown, bucket: string, purpose: string): Error {
  const status = httpStatusOf(error);
  const problem =
    status === 301
      ? 'is in another region than the stack: S3 sends its events only to the EventBridge bus of its own region, deploy the stack there'
      : status === 403
        ? 'cannot be configured by the stack: in another account, its owner turns EventBridge on (set adoptInventoryAccount)'
        : status === 404
          ? 'does not exist'
          : `could not be read: ${(error as Error).name}: ${(error as Error).message}`;
  const named = new Error(`${purpose} "${bucket}" ${problem}`, { cause: error });
  return Object.assign(named, { $metadata: (error as { $metadata?: unknown }).$metadata });
}

/** Turns EventBridge delivery on; true when this call did, false when it was on already. `purpose` names the bucket in errors. */
export async function turnOnEventBridge(s3: S3Client, bucket: string, purpose = 'adopted inventory bucket'): Promise<boolean> {
  const configuration = await readConfiguration(s3, bucket, purpose);
  if (configuration.EventBridgeConfiguration) return false;
  await writeConfiguration(s3, bucket, { ...configuration, EventBridgeConfiguration: {} });
  return true;
}

/** Turns EventBridge delivery off, keeping the rest; false when it was off already. */
export async function turnOffEventBridge(s3: S3Client, bucket: string): Promise<boolean> {
  const { EventBridgeConfiguration, ...rest } = await readConfiguration(s3, bucket, 'bucket');
  if (!EventBridgeConfiguration) return false;
  await writeConfiguration(s3, bucket, rest);
  return true;
}

/** The physical id of `Custom::BucketEventBridge`: the bucket, and whether the stack turned delivery on. */
export function eventBridgeResourceId(bucket: string, turnedOn: boolean): string {
  return `eventbridge/${bucket}/${turnedOn ? 'turned-on' : 'was-on'}`;
}

/**
 * The Delete of `Custom::BucketEventBridge`: delivery is turned off only if the stack turned it on
 * (the physical id says so). A bucket that is gone, in another region or no longer reachable by
 * the role is left as it is and logged: a failed Delete would leave the stack unable to roll back
 * or be removed.
 */
export async function releaseEventBridge(s3: S3Client, physicalId: string, log: Log): Promise<void> {
  const match = /^eventbridge\/(.+)\/(turned-on|was-on)$/.exec(physicalId);
  if (!match?.[1] || match[2] !== 'turned-on') {
    log.info('EventBridge delivery left as it was: the stack did not turn it on', { physicalId });
    return;
  }
  const bucket = match[1];
  try {
    log.info('EventBridge delivery turned off', { bucket, wasOn: await turnOffEventBridge(s3, bucket) });
  } catch (error) {
    if (!isOutOfReach(error)) throw error;
    log.warn('EventBridge delivery left on: the bucket cannot be reached; its owner may turn it off', {
      bucket,
      status: httpStatusOf(error),
      error: (error as Error).message,
    });
  }
}
