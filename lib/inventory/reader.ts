import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { DataFileError } from '../core/errors.ts';
import { decodeS3Key } from '../core/key-encoding.ts';
import { csvRecordBatches } from './csv.ts';
import { asDataFileError, openDataFile } from './download.ts';
import type { ColumnPositions, ManifestFile } from './manifest.ts';
import { RowCounter, skipRows } from './rows.ts';
import type { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import type { MessageField, ObjectDetails, ObjectRef } from '../core/types.ts';

// 64 KiB pieces of CSV rather than zlib's 16 KiB: a quarter of the stream steps per row, for the
// integrity pass and the reader alike (`npm run bench`: parseRowsPerSec, verifyRowsPerSec).
const GUNZIP_OPTIONS = { chunkSize: 64 * 1024 };

/** One data file to read: where it is, what the manifest says of it, and its columns. */
export interface DataFile {
  /** The bucket that holds the report. */
  bucket: string;
  file: ManifestFile;
  columns: ColumnPositions;
}

/** A current object of a report, with its row number in the data file (from 1). */
export interface InventoryObject extends ObjectRef {
  row: number;
}

export interface ReadOptions {
  /** Rows already done: read past them without counting or yielding them (gzip cannot seek). */
  startRow?: number;
  /** The read ends after this row (a shard of the file); absent: at the end of the file. */
  lastRow?: number;
  /** Kept at the number of the last row read, skipped rows included. */
  position?: { row: number };
  /** The ETag the verifying pass read: the rows come from the very bytes that were checked. */
  etag?: string;
  /** Optional fields to read into each object's details (the columns were checked at start). */
  fields?: readonly MessageField[];
  /** Only objects modified at or after this time; the others are skipped as `unchanged`. */
  changedSince?: Date;
  /**
   * Asked before each row, skipped rows included: true ends the read there, leaving that row
   * unread (`position` then holds the row before it), so that a time budget holds even when
   * almost every row is skipped.
   */
  shouldStop?: (row: number) => boolean;
}

/**
 * Streams one data file of a report and yields the current objects it lists, those of one chunk
 * of CSV at a time: GetObject (resumed where it broke off) → MD5 of the compressed bytes → gunzip
 * (every member) → CSV → key decoding → delete markers and older versions skipped. Nothing is
 * buffered beyond the streams' own high-water marks and one chunk's objects: while the consumer
 * awaits, the download pauses. The MD5 is checked when the
 * file ends; `verifyDataFile` checks it before any row is published.
 */
export async function* readInventoryFile(
  s3: S3Client,
  { bucket, file, columns }: DataFile,
  stats: RunStats,
  options: ReadOptions = {},
): AsyncGenerator<InventoryObject[]> {
  const uri = formatS3Uri({ bucket, key: file.key });
  const startRow = options.startRow ?? 0;
  const position = options.position ?? { row: 0 };
  const fields = options.fields ?? [];
  const changedSince = options.changedSince?.getTime();
  const { chunks } = await openDataFile(s3, bucket, file, { stats, ...(options.etag && { ifMatch: options.etag }) });

  // Rows already done are dropped before the parser, at the speed of counting newlines.
  const decompressed = skipRows(startRow);
  const streaming = pipeline(Readable.from(chunks, { objectMode: false }), createGunzip(GUNZIP_OPTIONS), decompressed);
  // Errors reach the loop below through the last stream; this only keeps an early exit from
  // leaving an unhandled rejection behind.
  streaming.catch(() => {});

  const lastRow = options.lastRow ?? Number.POSITIVE_INFINITY;
  let row = startRow;
  try {
    // Inventory CSV has no header and quotes every field; reports may end with blank lines.
    for await (const records of csvRecordBatches(decompressed, startRow)) {
      const batch: InventoryObject[] = [];
      for (const record of records) {
        row += 1;
        if (row > lastRow || options.shouldStop?.(row)) {
          if (batch.length > 0) yield batch;
          return;
        }
        position.row = row;
        stats.rowsRead += 1;
        if (record.length !== columns.count) {
          throw new DataFileError(`data file ${uri} row ${row} has ${record.length} fields; fileSchema names ${columns.count}`);
        }
        if (columns.isLatest !== undefined && record[columns.isLatest] === 'false') {
          stats.skip('notLatest');
          continue;
        }
        if (columns.isDeleteMarker !== undefined && record[columns.isDeleteMarker] === 'true') {
          stats.skip('deleteMarker');
          continue;
        }
        if (changedSince !== undefined && Date.parse(record[columns.details.lastModified ?? -1] ?? '') < changedSince) {
          stats.skip('unchanged');
          continue;
        }
        const rawKey = record[columns.key] as string;
        let key: string;
        try {
          key = decodeS3Key(rawKey);
        } catch {
          stats.recordMalformedKey(rawKey);
          continue;
        }
        const bucket = record[columns.bucket] as string;
        batch.push(fields.length === 0 ? { bucket, key, row } : { bucket, key, row, details: detailsOf(record, columns, fields) });
      }
      if (batch.length > 0) yield batch;
    }
    await streaming;
  } catch (error) {
    throw asDataFileError(error, uri);
  } finally {
    decompressed.destroy();
  }
}

/** The optional fields of one row, typed as messages carry them. */
function detailsOf(record: string[], columns: ColumnPositions, fields: readonly MessageField[]): ObjectDetails {
  const details: ObjectDetails = {};
  for (const field of fields) {
    const value = record[columns.details[field] ?? -1] ?? '';
    if (field === 'size') details.size = Number(value);
    else if (field === 'versionId') details.versionId = value === '' ? 'null' : value;
    else if (field === 'etag') details.etag = value.replaceAll('"', '');
    else details[field] = value;
  }
  return details;
}

/** What the verifying pass learnt of a data file whose size and MD5 match the manifest. */
export interface VerifiedFile {
  /** Rows (non-blank lines) of the decompressed CSV. */
  rows: number;
  etag: string | undefined;
}

/**
 * Reads a whole data file without parsing it: size and MD5 against the manifest, gunzip, rows
 * counted. Rows of a data file are published only after this, so altered data never reaches the
 * queue; inventory keys are URL-encoded, so a row never holds a raw newline.
 */
export async function verifyDataFile(s3: S3Client, { bucket, file }: Omit<DataFile, 'columns'>, stats?: RunStats): Promise<VerifiedFile> {
  const uri = formatS3Uri({ bucket, key: file.key });
  const { etag, chunks } = await openDataFile(s3, bucket, file, { ...(stats && { onResume: () => stats.recordResume() }) });
  const counter = new RowCounter();
  const countRows = async (decompressed: AsyncIterable<Buffer>) => {
    for await (const chunk of decompressed) counter.feed(chunk);
  };
  try {
    await pipeline(Readable.from(chunks, { objectMode: false }), createGunzip(GUNZIP_OPTIONS), countRows);
  } catch (error) {
    throw asDataFileError(error, uri);
  }
  return { rows: counter.end(), etag };
}
