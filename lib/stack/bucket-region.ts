import { HeadBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { httpStatusOf } from '../core/aws-errors.ts';

interface S3ErrorShape {
  name?: string;
  message?: string;
  $response?: { headers?: Record<string, string | undefined> };
}

/**
 * The region of a bucket, from HeadBucket's `x-amz-bucket-region` header, which S3 also sends on
 * the 301 and 403 answers of a bucket in another region or account. Undefined when the endpoint
 * does not say (an emulator).
 */
/** What a bucket is to the stack, and why it must be in the stack's region. */
export interface BucketRole {
  name: string;
  sameRegionBecause: string;
}

export const SOURCE_BUCKET: BucketRole = {
  name: 'source bucket',
  sameRegionBecause: "S3 Inventory delivers reports only to a bucket of the source bucket's region",
};

export const ADOPTED_INVENTORY_BUCKET: BucketRole = {
  name: 'adopted inventory bucket',
  sameRegionBecause: "S3 sends a bucket's events to EventBridge only in the bucket's region, where the stack's rule must be",
};

export async function bucketRegion(s3: S3Client, bucket: string, role = SOURCE_BUCKET): Promise<string | undefined> {
  try {
    return (await s3.send(new HeadBucketCommand({ Bucket: bucket }))).BucketRegion;
  } catch (error) {
    const { name, message, $response } = error as S3ErrorShape;
    const region = $response?.headers?.['x-amz-bucket-region'];
    if (region) return region;
    if (httpStatusOf(error) === 404) throw new Error(`${role.name} "${bucket}" does not exist`);
    throw new Error(`${role.name} "${bucket}": its region could not be read: ${name}: ${message}`, { cause: error });
  }
}

/** Refuses a bucket outside the stack's region, saying why it must be in it. */
export async function assertBucketInRegion(s3: S3Client, bucket: string, stackRegion: string, role = SOURCE_BUCKET): Promise<void> {
  const region = await bucketRegion(s3, bucket, role);
  if (region !== undefined && region !== stackRegion) {
    throw new Error(
      `${role.name} "${bucket}" is in ${region}, but the stack is in ${stackRegion}: ${role.sameRegionBecause}. ` +
        `Deploy the stack with --region ${region}.`,
    );
  }
}

/**
 * Refuses an adopted inventory bucket that cannot be listed under its prefix: the functions read
 * it with the same kind of grant. Another account's bucket admits this account by its policy.
 */
export async function assertReportsReadable(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  const under = prefix ? `${prefix}/` : '';
  try {
    await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1, ...(under && { Prefix: under }) }));
  } catch (error) {
    const status = httpStatusOf(error);
    const { name, message } = error as S3ErrorShape;
    const problem =
      status === 404
        ? 'does not exist'
        : `cannot be listed under "${under}" by this account (${name}${status ? ` ${status}` : ''}: ${message}): for another ` +
          "account's bucket, its owner's bucket policy must grant this account s3:ListBucket and s3:GetObject there " +
          '(docs/deploying.md, "Adopting an inventory")';
    throw new Error(`${ADOPTED_INVENTORY_BUCKET.name} "${bucket}" ${problem}`, { cause: error });
  }
}
