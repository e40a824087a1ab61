import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { loadSelection } from '../lib/core/config.ts';
import { INVENTORY_FORMATS, type InventoryFormat } from '../lib/inventory/manifest.ts';
import { assertBucketInRegion } from '../lib/stack/bucket-region.ts';
import { sendCustomResourceResponse } from '../lib/stack/custom-resource.ts';
import { emptyBucket } from '../lib/stack/empty-bucket.ts';
import { deleteInventoryConfiguration, putInventoryConfiguration } from '../lib/stack/inventory-configuration.ts';
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
 *   removed, so that CloudFormation can delete it.
 */
export async function handler(event: CloudFormationCustomResourceEvent, context?: Context): Promise<void> {
  if (context) logger.addContext(context);
  const properties = event.ResourceProperties as Record<string, string>;
  let physicalId = 'PhysicalResourceId' in event ? event.PhysicalResourceId : `${event.LogicalResourceId}-${event.RequestId}`;
  try {
    const { s3 } = await clients();
    switch (event.ResourceType) {
      case 'Custom::SourceBucketInventory': {
        const settings = {
          sourceBucket: required(properties, 'SourceBucket'),
          configurationId: required(properties, 'ConfigurationId'),
          destinationBucketArn: required(properties, 'DestinationBucketArn'),
          destinationPrefix: required(properties, 'DestinationPrefix'),
          destinationAccountId: required(properties, 'DestinationAccountId'),
          format: inventoryFormat(properties.Format),
          selection: loadSelection({ MESSAGE_FIELDS: properties.MessageFields, PUBLISH_MODE: properties.PublishMode }),
        };
        // A new physical id on update makes CloudFormation delete the old configuration.
        physicalId = `${settings.sourceBucket}/${settings.configurationId}`;
        if (event.RequestType === 'Delete') {
          await deleteInventoryConfiguration(s3, settings.sourceBucket, settings.configurationId);
        } else {
          // `sls deploy` checks this first; a deploy by other means gets the same clear refusal.
          if (process.env.AWS_REGION) await assertBucketInRegion(s3, settings.sourceBucket, process.env.AWS_REGION);
          await putInventoryConfiguration(s3, settings);
        }
        break;
      }
      case 'Custom::EmptyBucketOnDelete': {
        const bucket = required(properties, 'Bucket');
        physicalId = `empty-on-delete/${bucket}`;
        if (event.RequestType === 'Delete') logger.info('emptied bucket', { bucket, deleted: await emptyBucket(s3, bucket) });
        break;
      }
      default:
        throw new Error(`unknown custom resource type ${event.ResourceType}`);
    }
    logger.info('custom resource done', { type: event.ResourceType, request: event.RequestType, physicalId });
    await sendCustomResourceResponse(event, 'SUCCESS', physicalId);
  } catch (error) {
    logger.error('custom resource failed', { type: event.ResourceType, request: event.RequestType, error: error as Error });
    await sendCustomResourceResponse(event, 'FAILED', physicalId, (error as Error).message);
  }
}

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
