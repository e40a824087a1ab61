import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type _Object, type S3Client } from '@aws-sdk/client-s3';
import { httpStatusOf } from './aws-errors.ts';
import { InvalidArgumentError, ListingError } from './errors.ts';

/**
 * One ListObjectsV2 call of one key, before a listing fans out: a bucket that does not exist or
 * lives in another region is bad input, said once, rather than one failed listing per range.
 */
export async function checkListable(s3: S3Client, bucket: string, prefix = ''): Promise<void> {
  try {
    await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1, ...(prefix && { Prefix: prefix }) }));
  } catch (error) {
    const { name, message } = error as Error;
    const status = httpStatusOf(error);
    const answer = `${name}: ${message}${status ? ` (HTTP ${status})` : ''}`;
    if (name === 'NoSuchBucket' || status === 404 || status === 301) {
      throw new InvalidArgumentError(`bucket "${bucket}" cannot be listed: S3 answered ${answer}`);
    }
    throw new ListingError(`listing bucket "${bucket}" failed: ${answer}`, { cause: error });
  }
}

/** Every object under `prefix` after `startAfter`. */
export async function* listObjects(s3: S3Client, bucket: string, prefix = '', startAfter?: string): AsyncGenerator<_Object> {
  for await (const page of listPages(s3, bucket, prefix, startAfter)) yield* page;
}

/** The same, one ListObjectsV2 page of up to 1,000 objects at a time. */
export async function* listPages(s3: S3Client, bucket: string, prefix = '', startAfter?: string): AsyncGenerator<_Object[]> {
  let continuationToken: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          ...(prefix && { Prefix: prefix }),
          ...(continuationToken ? { ContinuationToken: continuationToken } : startAfter !== undefined && { StartAfter: startAfter }),
        }),
      );
    } catch (error) {
      const { name, message } = error as Error;
      throw new ListingError(`listing bucket "${bucket}" failed: ${name}: ${message}`, { cause: error });
    }
    yield page.Contents ?? [];
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);
}
