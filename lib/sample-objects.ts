import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import PQueue from 'p-queue';

const EXTENSIONS = ['jpg', 'png', 'pdf', 'txt'];

/** Sample object `index`: small content, named `<sha256 of the content>.<ext>` like real buckets. */
export function sampleObject(index: number): { key: string; body: string } {
  const body = `sample object ${index}\n`;
  const digest = createHash('sha256').update(body).digest('hex');
  return { key: `${digest}.${EXTENSIONS[index % EXTENSIONS.length]}`, body };
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
