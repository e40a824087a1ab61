import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
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
export async function bucketRegion(s3: S3Client, bucket: string): Promise<string | undefined> {
  try {
    return (await s3.send(new HeadBucketCommand({ Bucket: bucket }))).BucketRegion;
  } catch (error) {
    const { name, message, $response } = error as S3ErrorShape;
    const region = $response?.headers?.['x-amz-bucket-region'];
    if (region) return region;
    if (httpStatusOf(error) === 404) throw new Error(`source bucket "${bucket}" does not exist`);
    throw new Error(`source bucket "${bucket}": its region could not be read: ${name}: ${message}`, { cause: error });
  }
}

/**
 * Refuses a source bucket outside the stack's region: S3 Inventory delivers reports only to a
 * bucket in the source bucket's region, and the stack's inventory bucket is in its own.
 */
export async function assertBucketInRegion(s3: S3Client, bucket: string, stackRegion: string): Promise<void> {
  const region = await bucketRegion(s3, bucket);
  if (region !== undefined && region !== stackRegion) {
    throw new Error(
      `source bucket "${bucket}" is in ${region}, but the stack is in ${stackRegion}: S3 Inventory delivers reports only ` +
        `to a bucket of the source bucket's region. Deploy the stack with --region ${region}.`,
    );
  }
}
