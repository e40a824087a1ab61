import { parquetWriteBuffer } from 'hyparquet-writer';
import type { InventoryFormat } from '../inventory/manifest.ts';
import { type OrcColumn, writeOrc } from './orc-writer.ts';
import type { InventoryRow, ReportColumn } from './inventory-row.ts';

/** Rows per Parquet row group and ORC stripe: small enough that a demo's file splits into several shards. */
export const COLUMNAR_BLOCK_ROWS = 10_000;

interface ColumnSpec {
  name: string;
  type: 'string' | 'boolean' | 'bigint' | 'timestamp';
  value: (bucket: string, row: InventoryRow) => string | boolean | number | Date | null;
}

/** Each report column as Parquet and ORC inventories name and type it (keys as they are: no URL-encoding). */
const COLUMNS: Record<ReportColumn, ColumnSpec> = {
  Bucket: { name: 'bucket', type: 'string', value: (bucket) => bucket },
  Key: { name: 'key', type: 'string', value: (_, row) => row.key },
  VersionId: { name: 'version_id', type: 'string', value: (_, row) => row.versionId ?? null },
  IsLatest: { name: 'is_latest', type: 'boolean', value: (_, row) => row.isLatest ?? true },
  IsDeleteMarker: { name: 'is_delete_marker', type: 'boolean', value: (_, row) => row.isDeleteMarker ?? false },
  Size: { name: 'size', type: 'bigint', value: (_, row) => (row.isDeleteMarker ? null : row.size) },
  LastModifiedDate: { name: 'last_modified_date', type: 'timestamp', value: (_, row) => row.lastModified },
  ETag: { name: 'e_tag', type: 'string', value: (_, row) => (row.isDeleteMarker ? null : row.etag.replaceAll('"', '')) },
  StorageClass: {
    name: 'storage_class',
    type: 'string',
    value: (_, row) => (row.isDeleteMarker ? null : (row.storageClass ?? 'STANDARD')),
  },
  IntelligentTieringAccessTier: { name: 'intelligent_tiering_access_tier', type: 'string', value: (_, row) => row.accessTier ?? null },
};

/** The columns S3 Inventory's Parquet schema marks `required`: every row has them. */
const REQUIRED_COLUMNS = new Set(['bucket', 'key']);

/** The manifest's `fileSchema`, spelt as real Parquet and ORC reports spell it. */
export function columnarSchema(format: Exclude<InventoryFormat, 'CSV'>, columns: ReportColumn[]): string {
  const specs = columns.map((column) => COLUMNS[column]);
  if (format === 'ORC') {
    const orcType = { string: 'string', boolean: 'boolean', bigint: 'bigint', timestamp: 'timestamp' } as const;
    return `struct<${specs.map((spec) => `${spec.name}:${orcType[spec.type]}`).join(',')}>`;
  }
  const parquetType = { string: 'binary', boolean: 'boolean', bigint: 'int64', timestamp: 'int64' } as const;
  const annotation = { string: ' (STRING)', boolean: '', bigint: '', timestamp: ' (TIMESTAMP(MILLIS,true))' } as const;
  const fields = specs.map(
    (spec) =>
      `${REQUIRED_COLUMNS.has(spec.name) ? 'required' : 'optional'} ${parquetType[spec.type]} ${spec.name}${annotation[spec.type]};`,
  );
  return `message s3.inventory {  ${fields.join('  ')}}`;
}

/** One data file's rows as a Parquet or ORC file, with several row groups or stripes once it is large enough. */
export function columnarFile(
  format: Exclude<InventoryFormat, 'CSV'>,
  bucket: string,
  rows: InventoryRow[],
  columns: ReportColumn[],
): Buffer {
  const specs = columns.map((column) => COLUMNS[column]);
  const values = specs.map((spec) => rows.map((row) => spec.value(bucket, row)));
  if (format === 'ORC') {
    return writeOrc(
      specs.map((spec, index) => ({ name: spec.name, type: spec.type, values: values[index] }) as OrcColumn),
      COLUMNAR_BLOCK_ROWS,
    );
  }
  const parquetType = { string: 'STRING', boolean: 'BOOLEAN', bigint: 'INT64', timestamp: 'TIMESTAMP' } as const;
  const columnData = specs.map((spec, index) => ({
    name: spec.name,
    type: parquetType[spec.type],
    // S3 Inventory's schema: `bucket` and `key` are required, the others optional.
    nullable: !REQUIRED_COLUMNS.has(spec.name),
    data:
      spec.type === 'bigint'
        ? (values[index] ?? []).map((value) => (value === null ? null : BigInt(value as number)))
        : (values[index] ?? []),
  }));
  return Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: COLUMNAR_BLOCK_ROWS } as Parameters<typeof parquetWriteBuffer>[0]));
}
