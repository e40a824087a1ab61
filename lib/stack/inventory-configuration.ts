import {
  DeleteBucketInventoryConfigurationCommand,
  PutBucketInventoryConfigurationCommand,
  type InventoryOptionalField,
  type S3Client,
} from '@aws-sdk/client-s3';
import { publishesChanges, type Selection } from '../core/config.ts';
import type { MessageField } from '../core/types.ts';
import { COLUMN_NAMES, type InventoryFormat } from '../inventory/manifest.ts';
import { httpStatusOf } from '../core/aws-errors.ts';
import type { Log } from '../core/types.ts';
import { isOutOfReach } from './custom-resource.ts';

/** The daily inventory the pipeline reads: CSV, current versions, Bucket and Key only. */
export interface InventorySettings {
  sourceBucket: string;
  configurationId: string;
  destinationBucketArn: string;
  /** Without a trailing slash: S3 would collapse the `//` it produces. */
  destinationPrefix: string;
  destinationAccountId: string;
  /** CSV (the default), Parquet or ORC: the workers read each. */
  format?: InventoryFormat;
  /** The report's columns beyond Bucket and Key, from what the functions publish. */
  selection?: Pick<Selection, 'readFields' | 'publishMode'>;
}

/**
 * What the report must hold for a selection: the optional fields the messages carry, and
 * LastModifiedDate for `changed` mode; all versions when messages carry the version id.
 */
export function reportContents({ readFields, publishMode }: Pick<Selection, 'readFields' | 'publishMode'>): {
  optionalFields: string[];
  includedObjectVersions: 'All' | 'Current';
} {
  const fields = new Set<MessageField>(readFields.filter((field) => field !== 'versionId'));
  if (publishesChanges(publishMode)) fields.add('lastModified');
  return {
    optionalFields: [...fields].map((field) => COLUMN_NAMES.CSV[field]),
    includedObjectVersions: readFields.includes('versionId') ? 'All' : 'Current',
  };
}

/**
 * Turns the daily inventory on for the source bucket (CloudFormation cannot change a bucket it
 * does not own). Only the optional fields the run needs: by default none, since the pipeline
 * reads only Bucket and Key and a smaller report is faster to read. Replaces a configuration of
 * the same id.
 */
export async function putInventoryConfiguration(s3: S3Client, settings: InventorySettings): Promise<void> {
  if (settings.destinationPrefix.endsWith('/')) {
    throw new Error(`inventory prefix "${settings.destinationPrefix}" must not end with "/"`);
  }
  const { optionalFields, includedObjectVersions } = reportContents(settings.selection ?? { readFields: [], publishMode: 'all' });
  await s3.send(
    new PutBucketInventoryConfigurationCommand({
      Bucket: settings.sourceBucket,
      Id: settings.configurationId,
      InventoryConfiguration: {
        Id: settings.configurationId,
        IsEnabled: true,
        IncludedObjectVersions: includedObjectVersions,
        ...(optionalFields.length > 0 && { OptionalFields: optionalFields as InventoryOptionalField[] }),
        Schedule: { Frequency: 'Daily' },
        Destination: {
          S3BucketDestination: {
            Bucket: settings.destinationBucketArn,
            AccountId: settings.destinationAccountId,
            Format: settings.format ?? 'CSV',
            Prefix: settings.destinationPrefix,
          },
        },
      },
    }),
  );
}

/**
 * Turns it off again; true when it did. A configuration or bucket already gone, or a bucket the
 * role can no longer reach, is left as it is and logged, not an error: after an update to another
 * `sourceBucket` the role no longer names the old bucket when CloudFormation deletes the old
 * configuration, and a failed Delete would stop the update, a rollback or `sls remove`.
 */
export async function deleteInventoryConfiguration(
  s3: S3Client,
  sourceBucket: string,
  configurationId: string,
  log: Log,
): Promise<boolean> {
  try {
    await s3.send(new DeleteBucketInventoryConfigurationCommand({ Bucket: sourceBucket, Id: configurationId }));
    return true;
  } catch (error) {
    if (!isOutOfReach(error)) throw error;
    log.warn('inventory configuration left in place: the bucket is gone or out of reach; its owner may delete it', {
      bucket: sourceBucket,
      configurationId,
      status: httpStatusOf(error),
    });
    return false;
  }
}
