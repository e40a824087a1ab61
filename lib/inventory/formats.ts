import { csvFormat } from './csv-format.ts';
import type { DataFileFormat } from './data-file.ts';
import type { InventoryFormat } from './manifest.ts';
import { orcFormat } from './orc-format.ts';
import { parquetFormat } from './parquet-format.ts';

/** The reader of each format S3 Inventory writes. */
const FORMATS: Record<InventoryFormat, DataFileFormat> = { CSV: csvFormat, Parquet: parquetFormat, ORC: orcFormat };

/** The reader of a report's data files; CSV when the format is not said (tasks queued before there were others). */
export function dataFileFormat(format: InventoryFormat = 'CSV'): DataFileFormat {
  return FORMATS[format];
}
