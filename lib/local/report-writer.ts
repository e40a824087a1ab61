import { createHash, randomUUID, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { encodeS3Key } from '../core/key-encoding.ts';
import type { InventoryFormat, ManifestFile } from '../inventory/manifest.ts';
import { columnarFile, columnarSchema } from './columnar-report.ts';
import type { InventoryRow, ReportColumn } from './inventory-row.ts';
import type { S3Location } from '../core/types.ts';

export type { InventoryRow, ReportColumn } from './inventory-row.ts';

export interface InventoryReportOptions {
  sourceBucket: string;
  destinationBucket: string;
  /** Destination prefix, without a trailing slash (S3 would collapse `//`). */
  prefix: string;
  configId: string;
  rows: AsyncIterable<InventoryRow> | Iterable<InventoryRow>;
  /** A new data file starts after this many rows. */
  rowsPerFile: number;
  /** Adds VersionId, IsLatest and IsDeleteMarker, as `IncludedObjectVersions: All` does. */
  includeVersions?: boolean;
  /** The columns, in order, instead of those `includeVersions` implies. */
  columns?: ReportColumn[];
  /** When the scan began; names the manifest's folder. */
  createdAt?: Date;
  /** CSV (the default), Parquet or ORC, as the inventory configuration's format says. */
  format?: InventoryFormat;
}

export interface WrittenReport {
  manifest: S3Location;
  files: ManifestFile[];
  rows: number;
}

const CURRENT_SCHEMA: ReportColumn[] = ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag'];
const VERSIONED_SCHEMA: ReportColumn[] = ['Bucket', 'Key', 'VersionId', 'IsLatest', 'IsDeleteMarker', 'Size', 'LastModifiedDate', 'ETag'];
// Each chunk of CSV becomes its own gzip member, as in real reports, which may hold several.
const GZIP_MEMBER_BYTES = 1 << 20;

/**
 * Writes an inventory report exactly as S3 lays it out: gzipped, fully quoted CSV data files with
 * URL-encoded keys under `data/`, then `<timestamp>/manifest.json` with each file's MD5,
 * `manifest.checksum` and the Hive symlink file. Data files stream through multipart uploads, so
 * a report of any size is never held in memory.
 */
export async function writeInventoryReport(s3: S3Client, options: InventoryReportOptions): Promise<WrittenReport> {
  if (options.prefix.endsWith('/')) throw new Error(`inventory prefix "${options.prefix}" must not end with "/"`);
  const createdAt = options.createdAt ?? new Date();
  const base = `${options.prefix}/${options.sourceBucket}/${options.configId}`;
  const schema = options.columns ?? (options.includeVersions ? VERSIONED_SCHEMA : CURRENT_SCHEMA);
  const format = options.format ?? 'CSV';
  const files: ManifestFile[] = [];
  let file: DataFileWriter | undefined;
  let rows = 0;
  for await (const row of options.rows) {
    file ??= dataFileWriter(s3, options, `${base}/data/${randomUUID()}${EXTENSIONS[format]}`, schema);
    await file.write(row);
    rows += 1;
    if (rows % options.rowsPerFile === 0) {
      files.push(await file.close());
      file = undefined;
    }
  }
  if (file) files.push(await file.close());

  const manifestJson = JSON.stringify({
    sourceBucket: options.sourceBucket,
    destinationBucket: `arn:aws:s3:::${options.destinationBucket}`,
    version: '2016-11-30',
    creationTimestamp: String(createdAt.getTime()),
    fileFormat: format,
    fileSchema: format === 'CSV' ? schema.join(', ') : columnarSchema(format, schema),
    files: files.map((written) => ({ key: written.key, size: written.size, MD5checksum: written.md5 })),
  });
  const stamp = createdAt.toISOString().slice(0, 16).replace(':', '-');
  const folder = `${base}/${stamp}Z`;
  const put = (key: string, body: string, contentType: string) =>
    s3.send(new PutObjectCommand({ Bucket: options.destinationBucket, Key: key, Body: body, ContentType: contentType }));
  const symlinks = files.map((written) => `s3://${options.destinationBucket}/${written.key}\n`).join('');
  await put(`${base}/hive/dt=${stamp.replace('T', '-')}/symlink.txt`, symlinks, 'text/plain');
  // manifest.json comes after the data files, and last of all its checksum, as S3 does.
  await put(`${folder}/manifest.json`, manifestJson, 'application/json');
  await put(`${folder}/manifest.checksum`, createHash('md5').update(manifestJson).digest('hex'), 'text/plain');
  return { manifest: { bucket: options.destinationBucket, key: `${folder}/manifest.json` }, files, rows };
}

const EXTENSIONS: Record<InventoryFormat, string> = { CSV: '.csv.gz', Parquet: '.parquet', ORC: '.orc' };

/** One data file being written: rows in, its key, size and MD5 out. */
interface DataFileWriter {
  write(row: InventoryRow): Promise<void>;
  close(): Promise<ManifestFile>;
}

function dataFileWriter(s3: S3Client, options: InventoryReportOptions, key: string, schema: ReportColumn[]): DataFileWriter {
  const { format = 'CSV', sourceBucket, destinationBucket } = options;
  if (format === 'CSV') {
    const upload = new DataFileUpload(s3, destinationBucket, key);
    return { write: (row) => upload.write(csvLine(sourceBucket, row, schema)), close: () => upload.close() };
  }
  // A Parquet or ORC file is written whole, as S3's own writer does: its rows are held until it closes.
  const rows: InventoryRow[] = [];
  return {
    write: async (row) => {
      rows.push(row);
    },
    close: async () => {
      const body = columnarFile(format, sourceBucket, rows, schema);
      await new Upload({ client: s3, params: { Bucket: destinationBucket, Key: key, Body: body } }).done();
      return { key, size: body.length, md5: createHash('md5').update(body).digest('hex') };
    },
  };
}

function csvLine(bucket: string, row: InventoryRow, columns: ReportColumn[]): string {
  const value: Record<ReportColumn, () => string> = {
    Bucket: () => bucket,
    Key: () => encodeS3Key(row.key),
    VersionId: () => row.versionId ?? '',
    IsLatest: () => String(row.isLatest ?? true),
    IsDeleteMarker: () => String(row.isDeleteMarker ?? false),
    Size: () => String(row.size),
    LastModifiedDate: () => row.lastModified.toISOString(),
    ETag: () => row.etag.replaceAll('"', ''),
    StorageClass: () => row.storageClass ?? 'STANDARD',
    IntelligentTieringAccessTier: () => row.accessTier ?? '',
  };
  return `${columns.map((column) => `"${value[column]().replaceAll('"', '""')}"`).join(',')}\n`;
}

/** One data file being uploaded: CSV text → gzip members → MD5 → multipart upload. */
class DataFileUpload {
  readonly #key: string;
  readonly #body = new PassThrough();
  readonly #upload: Promise<unknown>;
  readonly #md5: Hash = createHash('md5');
  #pending: string[] = [];
  #pendingBytes = 0;
  #size = 0;

  constructor(s3: S3Client, bucket: string, key: string) {
    this.#key = key;
    this.#upload = new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: this.#body } }).done();
    // Surfaces through close(); this only prevents an unhandled rejection in between.
    this.#upload.catch(() => {});
  }

  async write(line: string): Promise<void> {
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= GZIP_MEMBER_BYTES) await this.#flushMember();
  }

  async close(): Promise<ManifestFile> {
    await this.#flushMember();
    this.#body.end();
    await this.#upload;
    return { key: this.#key, size: this.#size, md5: this.#md5.digest('hex') };
  }

  async #flushMember(): Promise<void> {
    if (this.#pending.length === 0) return;
    const member = gzipSync(this.#pending.join(''));
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#md5.update(member);
    this.#size += member.length;
    // A failed upload stops reading: waiting for 'drain' alone would then never end.
    if (!this.#body.write(member)) await Promise.race([once(this.#body, 'drain'), this.#upload]);
  }
}
