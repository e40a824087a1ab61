import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../core/listing.ts';

const DELETE_BATCH = 1_000;

/** Deletes every object of an unversioned bucket, 1,000 per DeleteObjects call; returns the count. */
export async function emptyBucket(s3: S3Client, bucket: string): Promise<number> {
  let deleted = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const { Errors = [] } = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
    );
    if (Errors.length > 0) {
      throw new Error(
        `emptying bucket "${bucket}": ${Errors.length} objects could not be deleted, first "${Errors[0]?.Key}": ${Errors[0]?.Code}`,
      );
    }
    deleted += batch.length;
    batch = [];
  };
  for await (const object of listObjects(s3, bucket)) {
    batch.push(object.Key ?? '');
    if (batch.length === DELETE_BATCH) await flush();
  }
  await flush();
  return deleted;
}
