import { httpStatusOf } from '../core/aws-errors.ts';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { FILTER_VARIABLES, filterFields, publishesChanges, S3_EVENT_FIELDS, type Selection } from '../core/config.ts';
import { ManifestError } from '../core/errors.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import { DETAIL_FIELDS, type MessageField, type S3Location } from '../core/types.ts';

/** The formats S3 Inventory writes, as the manifest's `fileFormat` names them. */
export const INVENTORY_FORMATS = ['CSV', 'Parquet', 'ORC'] as const;
/** The name of every report's manifest, and the folder S3 names after the time of its scan. */
export const MANIFEST_FILE = 'manifest.json';
/** A manifest lists ~150 bytes per data file: this holds well over a million of them. */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;
const REPORT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z$/;
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number];

/** One data file of a report: gzipped CSV, Parquet or ORC. */
export interface ManifestFile {
  key: string;
  /** Compressed size in bytes. */
  size: number;
  /** MD5 hex of the compressed bytes. */
  md5: string;
}

/** Positions of the columns the pipeline reads in `fileSchema`'s list (CSV reads by position, Parquet and ORC by name). */
export interface ColumnPositions {
  bucket: number;
  key: number;
  isLatest?: number;
  isDeleteMarker?: number;
  /** Optional fields of the report that messages may carry, by message field. */
  details: Partial<Record<MessageField, number>>;
  /** Number of columns of every row. */
  count: number;
}

/** What the pipeline reads of a row, beside the message fields. */
type RowColumn = 'bucket' | 'key' | 'isLatest' | 'isDeleteMarker';

/** The columns' names: CSV's `fileSchema` spells them in PascalCase, Parquet and ORC in snake_case. */
export const COLUMN_NAMES: Record<'CSV' | 'columnar', Record<RowColumn | MessageField, string>> = {
  CSV: {
    bucket: 'Bucket',
    key: 'Key',
    isLatest: 'IsLatest',
    isDeleteMarker: 'IsDeleteMarker',
    size: 'Size',
    etag: 'ETag',
    lastModified: 'LastModifiedDate',
    versionId: 'VersionId',
    storageClass: 'StorageClass',
    accessTier: 'IntelligentTieringAccessTier',
  },
  columnar: {
    bucket: 'bucket',
    key: 'key',
    isLatest: 'is_latest',
    isDeleteMarker: 'is_delete_marker',
    size: 'size',
    etag: 'e_tag',
    lastModified: 'last_modified_date',
    versionId: 'version_id',
    storageClass: 'storage_class',
    accessTier: 'intelligent_tiering_access_tier',
  },
};

export const columnNames = (format: InventoryFormat) => COLUMN_NAMES[format === 'CSV' ? 'CSV' : 'columnar'];

export interface InventoryManifest {
  /** Where manifest.json was read; data files are read from the same bucket. */
  location: S3Location;
  sourceBucket: string;
  /** Bucket name, from the manifest's `destinationBucket` ARN. */
  destinationBucket: string;
  version: string;
  /** When the inventory scan began. */
  createdAt: Date;
  format: InventoryFormat;
  columns: ColumnPositions;
  files: ManifestFile[];
}

/** Downloads and validates manifest.json. */
export async function fetchManifest(s3: S3Client, location: S3Location): Promise<InventoryManifest> {
  let text: string;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    if ((response.ContentLength ?? 0) > MAX_MANIFEST_BYTES) {
      (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new ManifestError(
        `manifest ${formatS3Uri(location)} is ${response.ContentLength} bytes, over the ${MAX_MANIFEST_BYTES} this reader reads (some 1.5 million data files)`,
      );
    }
    text = (await response.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    const status = httpStatusOf(error);
    throw new ManifestError(`manifest ${formatS3Uri(location)} could not be read: ${(error as Error).name}: ${(error as Error).message}`, {
      cause: error,
      transient: status === undefined || status >= 500 || status === 429 || status === 503,
    });
  }
  return parseManifest(text, location);
}

/** Validates every field the pipeline relies on; errors name the manifest and the field. */
export function parseManifest(text: string, location: S3Location): InventoryManifest {
  const where = `manifest ${formatS3Uri(location)}`;
  const fail = (problem: string): never => {
    throw new ManifestError(`${where}: ${problem}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(json)) return fail('is not a JSON object');

  const stringField = (field: string): string => {
    const value = json[field];
    if (typeof value !== 'string' || value.trim() === '') return fail(`field "${field}" must be a non-empty string`);
    return value;
  };

  const format = stringField('fileFormat') as InventoryFormat;
  if (!INVENTORY_FORMATS.includes(format)) fail(`field "fileFormat" is "${format}"; expected ${INVENTORY_FORMATS.join(', ')}`);

  const destinationArn = stringField('destinationBucket');
  const destination = /^arn:aws[a-z-]*:s3:::([^/]+)$/.exec(destinationArn)?.[1];
  if (!destination) fail(`field "destinationBucket" "${destinationArn}" is not a bucket ARN (arn:aws:s3:::<bucket>)`);

  const timestamp = stringField('creationTimestamp');
  if (!/^\d+$/.test(timestamp)) fail(`field "creationTimestamp" "${timestamp}" is not epoch milliseconds`);
  const sourceBucket = stringField('sourceBucket');
  const report = reportFolders(location, fail);
  if (sourceBucket !== report.sourceBucket) {
    fail(
      `field "sourceBucket" names "${sourceBucket}", but the report lies under "${report.sourceBucket}": ` +
        'S3 writes the reports of a bucket under <prefix>/<source bucket>/<configuration id>/, so this manifest is not one S3 wrote',
    );
  }
  const files = manifestFiles(json.files, fail);
  const outside = files.find((file) => !file.key.startsWith(report.dataFolder) || file.key.includes('/', report.dataFolder.length));
  if (outside)
    fail(`data file "${outside.key}" lies outside the report's folder ${report.dataFolder}, where S3 writes every data file of it`);

  return {
    location,
    sourceBucket,
    destinationBucket: destination as string,
    version: stringField('version'),
    createdAt: new Date(Number(timestamp)),
    format,
    columns: columnPositions(format, stringField('fileSchema'), fail),
    files,
  };
}

/**
 * The source bucket and the data folder a manifest's own key names: S3 writes every report at
 * `<prefix>/<source bucket>/<configuration id>/<YYYY-MM-DDTHH-MMZ>/manifest.json`, its data files
 * under `<prefix>/<source bucket>/<configuration id>/data/`.
 */
function reportFolders(location: S3Location, fail: (problem: string) => never): { sourceBucket: string; dataFolder: string } {
  const parts = location.key.split('/');
  if (parts.length < 4 || parts.at(-1) !== MANIFEST_FILE || !REPORT_TIME.test(parts.at(-2) ?? '')) {
    return fail('is not where S3 writes a manifest: <prefix>/<source bucket>/<configuration id>/<YYYY-MM-DDTHH-MMZ>/manifest.json');
  }
  return { sourceBucket: parts.at(-4) as string, dataFolder: `${parts.slice(0, -2).join('/')}/data/` };
}

/**
 * The schema's column names. CSV's is a list (`Bucket, Key, …`); Parquet's a message
 * (`message s3.inventory { required binary bucket (UTF8); … }`) and ORC's a struct
 * (`struct<bucket:string,key:string,…>`), spelt differently by the documentation and by real
 * files: only the names are taken, and the readers find the columns in each file's own footer.
 */
function schemaNames(format: InventoryFormat, fileSchema: string): string[] {
  if (format === 'CSV') return fileSchema.split(',').map((name) => name.trim());
  const pattern = format === 'ORC' ? /(\w+)\s*:/g : /(?:required|optional|repeated)\s+\w+\s+(\w+)/g;
  return [...fileSchema.matchAll(pattern)].map((match) => match[1] as string);
}

function columnPositions(format: InventoryFormat, fileSchema: string, fail: (problem: string) => never): ColumnPositions {
  const names = schemaNames(format, fileSchema);
  const columns = columnNames(format);
  const position = (name: string) => {
    const index = names.indexOf(name);
    return index === -1 ? undefined : index;
  };
  const bucket = position(columns.bucket);
  const key = position(columns.key);
  if (bucket === undefined || key === undefined) {
    return fail(`field "fileSchema" "${fileSchema}" must name the ${columns.bucket} and ${columns.key} columns`);
  }
  const isLatest = position(columns.isLatest);
  const isDeleteMarker = position(columns.isDeleteMarker);
  const details = Object.fromEntries(
    DETAIL_FIELDS.flatMap((field) => (position(columns[field]) === undefined ? [] : [[field, position(columns[field])]])),
  );
  return {
    bucket,
    key,
    ...(isLatest !== undefined && { isLatest }),
    ...(isDeleteMarker !== undefined && { isDeleteMarker }),
    details,
    count: names.length,
  };
}

/**
 * Refuses at start a report that lacks a column the run needs: a message field, or
 * LastModifiedDate to publish only what changed. Names the column and the inventory configuration
 * that should include it.
 */
export function requireColumns(
  manifest: InventoryManifest,
  selection: Pick<Selection, 'messageFields' | 'readFields' | 'messageFormat' | 'publishMode' | 'filter'>,
): void {
  const changedOnly = publishesChanges(selection.publishMode);
  const needed = new Set<MessageField>(selection.readFields);
  if (changedOnly) needed.add('lastModified');
  const missing = [...needed].filter((field) => manifest.columns.details[field] === undefined);
  if (missing.length === 0) return;
  const configuration = manifest.location.key.split('/').at(-3) ?? '?';
  const why = (field: MessageField) => {
    if (selection.messageFields.includes(field)) return `MESSAGE_FIELDS ${field}`;
    if (selection.messageFormat === 's3-event' && S3_EVENT_FIELDS.includes(field)) return 'MESSAGE_FORMAT s3-event';
    if (filterFields(selection.filter).includes(field)) return FILTER_VARIABLES[field as keyof typeof FILTER_VARIABLES];
    return `PUBLISH_MODE=${selection.publishMode}`;
  };
  throw new ManifestError(
    `manifest ${formatS3Uri(manifest.location)} has no ${missing.map((field) => `${columnNames(manifest.format)[field]} column (for ${why(field)})`).join(', ')}: ` +
      `add it to the optional fields of inventory configuration "${configuration}" of bucket ${manifest.sourceBucket}` +
      (missing.includes('versionId') ? ', and include all object versions' : ''),
  );
}

function manifestFiles(value: unknown, fail: (problem: string) => never): ManifestFile[] {
  if (!Array.isArray(value)) return fail('field "files" must be an array');
  return value.map((file: unknown, index) => {
    const field = `files[${index}]`;
    if (!isRecord(file)) return fail(`field "${field}" must be an object`);
    const { key, size, MD5checksum: md5 } = file;
    if (typeof key !== 'string' || key === '') return fail(`field "${field}.key" must be a non-empty string`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      return fail(`field "${field}.size" must be a byte count`);
    }
    if (typeof md5 !== 'string' || !/^[0-9a-fA-F]{32}$/.test(md5)) {
      return fail(`field "${field}.MD5checksum" must be 32 hex digits`);
    }
    return { key, size, md5: md5.toLowerCase() };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
