import { describe, expect, it } from 'vitest';
import { ManifestError } from '../../lib/core/errors.ts';
import { parseManifest } from '../../lib/inventory/manifest.ts';

const location = { bucket: 'inventory', key: 'reports/photos/daily/2026-11-28T01-00Z/manifest.json' };
const valid = {
  sourceBucket: 'photos',
  destinationBucket: 'arn:aws:s3:::inventory',
  version: '2016-11-30',
  creationTimestamp: '1795838400000',
  fileFormat: 'CSV',
  fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag',
  files: [
    { key: 'reports/photos/daily/data/a.csv.gz', size: 123, MD5checksum: 'D41D8CD98F00B204E9800998ECF8427E' },
    { key: 'reports/photos/daily/data/b.csv.gz', size: 0, MD5checksum: '0cc175b9c0f1b6a831c399e269772661' },
  ],
};
const parse = (manifest: unknown) => parseManifest(JSON.stringify(manifest), location);

describe('parseManifest', () => {
  it('reads every field and maps the columns', () => {
    const manifest = parse(valid);
    expect(manifest).toMatchObject({
      location,
      sourceBucket: 'photos',
      destinationBucket: 'inventory',
      version: '2016-11-30',
      createdAt: new Date(1795838400000),
      columns: { bucket: 0, key: 1, isLatest: 3, isDeleteMarker: 4, count: 8 },
    });
    expect(manifest.files).toEqual([
      { key: 'reports/photos/daily/data/a.csv.gz', size: 123, md5: 'd41d8cd98f00b204e9800998ecf8427e' },
      { key: 'reports/photos/daily/data/b.csv.gz', size: 0, md5: '0cc175b9c0f1b6a831c399e269772661' },
    ]);
  });

  it('follows the column order of fileSchema, without version columns for current-only reports', () => {
    const manifest = parse({ ...valid, fileSchema: 'Size, Key, Bucket' });
    expect(manifest.columns).toEqual({ bucket: 2, key: 1, details: { size: 0 }, count: 3 });
  });

  it.each([
    // As AWS's documentation spells them, and as real reports do (other annotations, doubled spaces).
    [
      'Parquet',
      'message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional binary version_id (UTF8); optional boolean is_latest; optional boolean is_delete_marker; optional int64 size; optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary e_tag (UTF8);}',
    ],
    [
      'Parquet',
      'message s3.inventory {  required binary bucket (STRING);  required binary key (STRING);  optional binary version_id (STRING);  optional boolean is_latest;  optional boolean is_delete_marker;  optional int64 size;  optional int64 last_modified_date (TIMESTAMP(MILLIS,true));  optional binary e_tag (STRING);}',
    ],
    [
      'ORC',
      'struct<bucket:string,key:string,version_id:string,is_latest:boolean,is_delete_marker:boolean,size:bigint,last_modified_date:timestamp,e_tag:string>',
    ],
  ])('reads a %s report: its columns by their snake_case names', (fileFormat, fileSchema) => {
    const manifest = parse({ ...valid, fileFormat, fileSchema });
    expect(manifest.format).toBe(fileFormat);
    expect(manifest.columns).toEqual({
      bucket: 0,
      key: 1,
      isLatest: 3,
      isDeleteMarker: 4,
      details: { versionId: 2, size: 5, lastModified: 6, etag: 7 },
      count: 8,
    });
  });

  it.each([
    ['not JSON', '{"files":', /is not valid JSON/],
    ['an array', '[]', /is not a JSON object/],
  ])('rejects a manifest that is %s', (_what, text, message) => {
    expect(() => parseManifest(text, location)).toThrow(message);
  });

  it.each([
    [{ ...valid, sourceBucket: '' }, 'field "sourceBucket" must be a non-empty string'],
    [{ ...valid, destinationBucket: 'inventory' }, 'field "destinationBucket" "inventory" is not a bucket ARN'],
    [{ ...valid, creationTimestamp: 1795838400000 }, 'field "creationTimestamp" must be a non-empty string'],
    [{ ...valid, creationTimestamp: '2026-11-28' }, 'field "creationTimestamp" "2026-11-28" is not epoch milliseconds'],
    [{ ...valid, fileFormat: 'JSON' }, 'field "fileFormat" is "JSON"; expected CSV, Parquet, ORC'],
    [
      { ...valid, fileFormat: 'ORC', fileSchema: 'struct<bucket:string,size:bigint>' },
      'field "fileSchema" "struct<bucket:string,size:bigint>" must name the bucket and key columns',
    ],
    [{ ...valid, fileSchema: 'Bucket, Size' }, 'field "fileSchema" "Bucket, Size" must name the Bucket and Key columns'],
    [{ ...valid, files: {} }, 'field "files" must be an array'],
    [{ ...valid, files: [{ size: 1, MD5checksum: valid.files[1]?.MD5checksum }] }, 'field "files[0].key"'],
    [{ ...valid, files: [{ key: 'k', size: -1, MD5checksum: valid.files[1]?.MD5checksum }] }, 'field "files[0].size"'],
    [{ ...valid, files: [{ key: 'k', size: 1, MD5checksum: 'xyz' }] }, 'field "files[0].MD5checksum" must be 32 hex digits'],
  ])('names the manifest and the field in its error (%#)', (manifest, message) => {
    expect(() => parse(manifest)).toThrow(ManifestError);
    expect(() => parse(manifest)).toThrow(`manifest s3://${location.bucket}/${location.key}: ${message}`);
  });
});
