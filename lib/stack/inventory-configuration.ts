import {
  DeleteBucketInventoryConfigurationCommand,
  PutBucketInventoryConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** The daily inventory the pipeline reads: CSV, current versions, Bucket and Key only. */
export interface InventorySettings {
  sourceBucket: string;
  configurationId: string;
  destinationBucketArn: string;
  /** Without a trailing slash: S3 would collapse the `//` it produces. */
  destinationPrefix: string;
  destinationAccountId: string;
}

/**
 * Turns the inventory on for a bucket the stack does not own (CloudFormation cannot change it).
 * No optional fields: the pipeline reads only Bucket and Key, and a smaller report is faster to
 * read. Replaces a configuration of the same id.
 */
export async function putInventoryConfiguration(s3: S3Client, settings: InventorySettings): Promise<void> {
  if (settings.destinationPrefix.endsWith('/')) {
    throw new Error(`inventory prefix "${settings.destinationPrefix}" must not end with "/"`);
  }
  await s3.send(
    new PutBucketInventoryConfigurationCommand({
      Bucket: settings.sourceBucket,
      Id: settings.configurationId,
      InventoryConfiguration: {
        Id: settings.configurationId,
        IsEnabled: true,
        IncludedObjectVersions: 'Current',
        Schedule: { Frequency: 'Daily' },
        Destination: {
          S3BucketDestination: {
            Bucket: settings.destinationBucketArn,
            AccountId: settings.destinationAccountId,
            Format: 'CSV',
            Prefix: settings.destinationPrefix,
          },
        },
      },
    }),
  );
}

/** Turns it off again; a configuration already gone is not an error. */
export async function deleteInventoryConfiguration(s3: S3Client, sourceBucket: string, configurationId: string): Promise<void> {
  try {
    await s3.send(new DeleteBucketInventoryConfigurationCommand({ Bucket: sourceBucket, Id: configurationId }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw error;
  }
}
