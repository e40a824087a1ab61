import type { S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { loadSelection } from '../lib/core/config.ts';
import { INVENTORY_FORMATS, type InventoryFormat } from '../lib/inventory/manifest.ts';
import { assertBucketInRegion } from '../lib/stack/bucket-region.ts';
import { sendCustomResourceResponse } from '../lib/stack/custom-resource.ts';
import { emptyBucket } from '../lib/stack/empty-bucket.ts';
import { deleteInventoryConfiguration, putInventoryConfiguration } from '../lib/stack/inventory-configuration.ts';
import { eventBridgeResourceId, releaseEventBridge, turnOnEventBridge } from '../lib/stack/bucket-eventbridge.ts';
import { lazy } from '../lib/core/lazy.ts';
import { createLogger } from '../lib/core/logger.ts';

const logger = createLogger();
// Built on the first invocation and reused while the container lives.
const clients = lazy(async () => createAwsClientsFromEnvironment(4));

/**
 * CloudFormation custom resources of the stack:
 * - `Custom::SourceBucketInventory` turns the daily inventory on for the source bucket (created
 *   or adopted) in the stack's region, and off again when the stack is removed;
 * - `Custom::EmptyBucketOnDelete` empties the inventory bucket (reports only) when the stack is
 *   removed, so that CloudFormation can delete it;
 * - `Custom::BucketEventBridge` turns EventBridge delivery on for a bucket the stack does not own
 *   (an adopted inventory bucket, a live source bucket: its `Purpose`, which errors name), keeping
 *   its other notifications, and off on removal only if it was the one to turn it on.
 */
export async function handler(event: CloudFormationCustomResourceEvent, context?: Context): Promise<void> {
  if (context) logger.addContext(context);
  let physicalId = 'PhysicalResourceId' in event ? event.PhysicalResourceId : `${event.LogicalResourceId}-${event.RequestId}`;
  try {
    const resource = RESOURCES[event.ResourceType];
    if (!resource) throw new Error(`unknown custom resource type ${event.ResourceType}`);
    physicalId = await resource(event, (await clients()).s3, physicalId);
    logger.info('custom resource done', { type: event.ResourceType, request: event.RequestType, physicalId });
    await sendCustomResourceResponse(event, 'SUCCESS', physicalId);
  } catch (error) {
    logger.error('custom resource failed', { type: event.ResourceType, request: event.RequestType, error: error as Error });
    await sendCustomResourceResponse(event, 'FAILED', physicalId, (error as Error).message);
  }
}

/** One operation of a custom resource; returns its physical id. */
type Resource = (event: CloudFormationCustomResourceEvent, s3: S3Client, physicalId: string) => Promise<string>;

const RESOURCES: Record<string, Resource> = {
  'Custom::SourceBucketInventory': async (event, s3) => {
    const properties = event.ResourceProperties as Record<string, string>;
    const settings = {
      sourceBucket: required(properties, 'SourceBucket'),
      configurationId: required(properties, 'ConfigurationId'),
      destinationBucketArn: required(properties, 'DestinationBucketArn'),
      destinationPrefix: required(properties, 'DestinationPrefix'),
      destinationAccountId: required(properties, 'DestinationAccountId'),
      format: inventoryFormat(properties.Format),
      selection: loadSelection({
        MESSAGE_FIELDS: properties.MessageFields,
        MESSAGE_FORMAT: properties.MessageFormat,
        PUBLISH_MODE: properties.PublishMode,
        STORAGE_CLASS_INCLUDE: properties.StorageClassInclude,
        STORAGE_CLASS_EXCLUDE: properties.StorageClassExclude,
        MIN_SIZE: properties.MinSize,
        MAX_SIZE: properties.MaxSize,
        MODIFIED_AFTER: properties.ModifiedAfter,
        MODIFIED_BEFORE: properties.ModifiedBefore,
      }),
    };
    if (event.RequestType === 'Delete') {
      await deleteInventoryConfiguration(s3, settings.sourceBucket, settings.configurationId, logger);
    } else {
      // `sls deploy` checks this first; a deploy by other means gets the same clear refusal.
      if (process.env.AWS_REGION) await assertBucketInRegion(s3, settings.sourceBucket, process.env.AWS_REGION);
      await putInventoryConfiguration(s3, settings);
    }
    // A new physical id on update makes CloudFormation delete the old configuration.
    return `${settings.sourceBucket}/${settings.configurationId}`;
  },

  'Custom::EmptyBucketOnDelete': async (event, s3) => {
    const bucket = required(event.ResourceProperties as Record<string, string>, 'Bucket');
    if (event.RequestType === 'Delete') logger.info('emptied bucket', { bucket, deleted: await emptyBucket(s3, bucket) });
    return `empty-on-delete/${bucket}`;
  },

  'Custom::BucketEventBridge': async (event, s3, physicalId) => {
    if (event.RequestType === 'Delete') {
      await releaseEventBridge(s3, physicalId, logger);
      return physicalId;
    }
    const properties = event.ResourceProperties as Record<string, string>;
    const bucket = required(properties, 'Bucket');
    const turnedOn = await turnOnEventBridge(s3, bucket, properties.Purpose || undefined);
    // An update for the same bucket keeps who turned delivery on first.
    const turnedOnBefore = event.RequestType === 'Update' && physicalId === eventBridgeResourceId(bucket, true);
    return eventBridgeResourceId(bucket, turnedOn || turnedOnBefore);
  },
};

/** The Format property: CSV when absent (a stack from before there were others). */
function inventoryFormat(value: string | undefined): InventoryFormat {
  const format = value || 'CSV';
  if (!INVENTORY_FORMATS.includes(format as InventoryFormat))
    throw new Error(`property Format "${format}" must be ${INVENTORY_FORMATS.join(', ')}`);
  return format as InventoryFormat;
}

function required(properties: Record<string, string>, name: string): string {
  const value = properties[name];
  if (typeof value !== 'string' || value === '') throw new Error(`property ${name} is required`);
  return value;
}
