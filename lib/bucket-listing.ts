import { ListObjectsV2Command, type _Object, type S3Client } from '@aws-sdk/client-s3';
import { ListingError } from './errors.ts';

export interface ListingRange {
  prefix?: string;
  /** List keys after this one (exclusive). */
  startAfter?: string;
}

/** Every object of a bucket (or of a prefix), one ListObjectsV2 page of 1,000 at a time. */
export async function* listObjects(s3: S3Client, bucket: string, range: ListingRange = {}): AsyncGenerator<_Object> {
  let continuationToken: string | undefined;
  do {
    let page;
    try {
      page = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: range.prefix,
          StartAfter: continuationToken ? undefined : range.startAfter,
          ContinuationToken: continuationToken,
        }),
      );
    } catch (error) {
      const { name, message } = error as Error;
      throw new ListingError(`listing bucket "${bucket}" failed: ${name}: ${message}`, { cause: error });
    }
    yield* page.Contents ?? [];
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);
}
