import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import PQueue from 'p-queue';
import type { InventoryRow } from './report-writer.ts';

const EXTENSIONS = ['jpg', 'png', 'pdf', 'txt'];

/**
 * How sample keys are named: `hex`, `<sha256 of the content>.<ext>` like content-addressed buckets;
 * `deep-prefix`, the same under one long shared prefix; `dates`, `logs/YYYY/MM/DD/<n>.json` paths.
 */
export const KEY_SHAPES = ['hex', 'deep-prefix', 'dates'] as const;
export type KeyShape = (typeof KEY_SHAPES)[number];

/** Sample object `index`: small content, its key of the shape asked for. */
export function sampleObject(index: number, shape: KeyShape = 'hex'): { key: string; body: string } {
  const body = `sample object ${index}\n`;
  const digest = createHash('sha256').update(body).digest('hex');
  const name = `${digest}.${EXTENSIONS[index % EXTENSIONS.length]}`;
  if (shape === 'hex') return { key: name, body };
  if (shape === 'deep-prefix') return { key: `tenants/acme/uploads/2026/originals/${name}`, body };
  // A day per 1,000 objects from 2026-01-01.
  const day = new Date(Date.UTC(2026, 0, 1) + Math.floor(index / 1_000) * 86_400_000).toISOString().slice(0, 10);
  return { key: `logs/${day.replaceAll('-', '/')}/event-${String(index).padStart(9, '0')}.json`, body };
}

/**
 * The inventory rows S3 would list for a bucket seeded with samples `first` … count-1. Derived
 * rather than listed: listing a large bucket on the emulator costs more than the whole pipeline.
 */
export function* sampleInventoryRows(
  count: number,
  lastModified = new Date(),
  first = 0,
  shape: KeyShape = 'hex',
): Generator<InventoryRow> {
  for (let index = first; index < count; index += 1) {
    const { key, body } = sampleObject(index, shape);
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
  shape?: KeyShape;
}

/** Writes `count` sample objects with a bounded number of PutObject calls in flight. */
export async function seedBucket(s3: S3Client, bucket: string, options: SeedOptions): Promise<number> {
  const queue = new PQueue({ concurrency: options.concurrency ?? 32 });
  const first = options.firstIndex ?? 0;
  let written = 0;
  let failure: unknown;
  for (let index = first; index < first + options.count && failure === undefined; index += 1) {
    const { key, body } = sampleObject(index, options.shape);
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
