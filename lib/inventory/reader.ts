import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { ChecksumMismatchError, DataFileError, PipelineError } from '../core/errors.ts';
import { decodeS3Key } from '../core/key-encoding.ts';
import type { ColumnPositions, ManifestFile } from './manifest.ts';
import type { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import type { ObjectRef } from '../core/types.ts';

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
  /** Kept at the number of the last row read, skipped rows included. */
  position?: { row: number };
}

/**
 * Streams one data file of a report and yields the current objects it lists: GetObject → MD5 of
 * the compressed bytes → gunzip (every member) → CSV → key decoding → delete markers and older
 * versions skipped. Nothing is buffered beyond the streams' own high-water marks: while the
 * consumer awaits, the download pauses. The MD5 is checked when the file ends.
 */
export async function* readInventoryFile(
  s3: S3Client,
  { bucket, file, columns }: DataFile,
  stats: RunStats,
  options: ReadOptions = {},
): AsyncGenerator<InventoryObject> {
  const location = { bucket, key: file.key };
  const uri = formatS3Uri(location);
  const startRow = options.startRow ?? 0;
  const position = options.position ?? { row: 0 };
  let body: Readable;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    if (response.ContentLength !== undefined && response.ContentLength !== file.size) {
      throw new ChecksumMismatchError(`data file ${uri} is ${response.ContentLength} bytes; the manifest says ${file.size}`);
    }
    body = response.Body as Readable;
  } catch (error) {
    throw asDataFileError(error, uri);
  }

  const md5 = createHash('md5');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      md5.update(chunk);
      stats.bytesRead += chunk.length;
      done(null, chunk);
    },
  });
  // Inventory CSV has no header and quotes every field; reports may end with blank lines.
  const parser = parse({ skip_empty_lines: true, relax_column_count: true });
  const streaming = pipeline(body, hashing, createGunzip(), parser);
  // Errors reach the loop below through the parser; this only keeps an early exit from leaving
  // an unhandled rejection behind.
  streaming.catch(() => {});

  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      row += 1;
      position.row = row;
      if (row <= startRow) continue;
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
      const rawKey = record[columns.key] as string;
      let key: string;
      try {
        key = decodeS3Key(rawKey);
      } catch {
        stats.recordMalformedKey(rawKey);
        continue;
      }
      yield { bucket: record[columns.bucket] as string, key, row };
    }
    await streaming;
  } catch (error) {
    throw asDataFileError(error, uri);
  } finally {
    parser.destroy();
  }

  const actual = md5.digest('hex');
  if (actual !== file.md5) {
    throw new ChecksumMismatchError(`data file ${uri} has MD5 ${actual}; the manifest says ${file.md5}`);
  }
}

function asDataFileError(error: unknown, uri: string): PipelineError {
  if (error instanceof PipelineError) return error;
  const { name, message } = error as Error;
  return new DataFileError(`data file ${uri} could not be read: ${name}: ${message}`, { cause: error });
}
