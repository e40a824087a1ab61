import type { S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../core/listing.ts';
import type { InventoryFormat } from '../inventory/manifest.ts';
import type { InventoryRow } from './inventory-row.ts';
import { type WrittenReport, writeInventoryReport } from './report-writer.ts';

/** What S3 Inventory would list of a bucket now: every object, from a listing. */
async function* listedRows(s3: S3Client, bucket: string): AsyncGenerator<InventoryRow> {
  for await (const object of listObjects(s3, bucket)) {
    yield {
      key: object.Key ?? '',
      size: object.Size ?? 0,
      lastModified: object.LastModified ?? new Date(0),
      etag: object.ETag ?? '',
      storageClass: object.StorageClass ?? 'STANDARD',
    };
  }
}

/**
 * Writes the daily report S3 Inventory would deliver for `bucket` into a destination bucket and
 * prefix, in S3's layout, so that a report can be published from an emulator that has no
 * inventory of its own. The configuration id is `daily`.
 */
export async function writeBucketReport(
  s3: S3Client,
  bucket: string,
  destination: { bucket: string; prefix: string },
  format: InventoryFormat = 'CSV',
): Promise<WrittenReport> {
  return writeInventoryReport(s3, {
    sourceBucket: bucket,
    destinationBucket: destination.bucket,
    prefix: destination.prefix,
    configId: 'daily',
    rows: listedRows(s3, bucket),
    rowsPerFile: 100_000,
    format,
    columns: ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass'],
  });
}
