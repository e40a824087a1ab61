import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import PQueue from 'p-queue';
import type { InventoryRow } from './report-writer.ts';

const EXTENSIONS = ['jpg', 'png', 'pdf', 'txt'];

/** Sample object `index`: small content, named `<sha256 of the content>.<ext>` like real buckets. */
export function sampleObject(index: number): { key: string; body: string } {
  const body = `sample object ${index}\n`;
  const digest = createHash('sha256').update(body).digest('hex');
  return { key: `${digest}.${EXTENSIONS[index % EXTENSIONS.length]}`, body };
}

/**
 * The inventory rows S3 would list for a bucket seeded with samples `first` … count-1. Derived
 * rather than listed: listing a large bucket on the emulator costs more than the whole pipeline.
 */
export function* sampleInventoryRows(count: number, lastModified = new Date(), first = 0): Generator<InventoryRow> {
  for (let index = first; index < count; index += 1) {
    const { key, body } = sampleObject(index);
    const etag = createHash('md5').update(body).digest('hex');
    yield { key, size: Buffer.byteLength(body), lastModified, etag };
  }
}

export interface SeedOptions {
  count: number;
  /** Index of the first sample, so repeated seeds can add new objects. */
  firstIndex?: number;
  concurrency?: number;
  onProgress?: (written: number) => void;
}

/** Writes `count` sample objects with a bounded number of PutObject calls in flight. */
export async function seedBucket(s3: S3Client, bucket: string, options: SeedOptions): Promise<number> {
  const queue = new PQueue({ concurrency: options.concurrency ?? 32 });
  const first = options.firstIndex ?? 0;
  let written = 0;
  let failure: unknown;
  for (let index = first; index < first + options.count && failure === undefined; index += 1) {
    const { key, body } = sampleObject(index);
    await queue.onSizeLessThan(queue.concurrency);
    queue
      .add(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain' })))
      .then(
        () => options.onProgress?.(++written),
        (error: unknown) => {
          failure ??= error;
        },
      );
  }
  await queue.onIdle();
  if (failure !== undefined) throw failure;
  return written;
}
