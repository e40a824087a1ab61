import type { _Object, S3Client } from '@aws-sdk/client-s3';
import { listPages } from '../core/listing.ts';
import { isBeyondRange, type KeyRange } from './key-ranges.ts';

/**
 * The objects of one range under `prefix`, in S3's order, a page at a time; stops at the first key
 * beyond the range (ListObjectsV2 has no end bound, so the last page reads past it).
 */
export async function* listKeyRange(s3: S3Client, bucket: string, prefix: string, range: KeyRange): AsyncGenerator<_Object[]> {
  for await (const page of listPages(s3, bucket, prefix, range.startAfter)) {
    const beyond = page.findIndex((object) => isBeyondRange(object.Key ?? '', range));
    if (beyond !== -1) {
      if (beyond > 0) yield page.slice(0, beyond);
      return;
    }
    yield page;
  }
}
