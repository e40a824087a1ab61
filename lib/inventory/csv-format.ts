import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { DataFileError } from '../core/errors.ts';
import { decodeS3Key } from '../core/key-encoding.ts';
import type { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import type { ObjectDetails } from '../core/types.ts';
import { csvRecordBatches } from './csv.ts';
import type { DataFile, DataFileFormat, OpenOptions, RowBatch, RowOutcome, RowSelection, VerifiedFile } from './data-file.ts';
import { asDataFileError, openDataFile } from './download.ts';
import { checkBytes } from './integrity.ts';
import type { ColumnPositions } from './manifest.ts';
import { RowCounter, skipRows } from './rows.ts';

// 64 KiB pieces of CSV rather than zlib's 16 KiB: a quarter of the stream steps per row, for the
// integrity pass and the reader alike (`npm run bench`: parseRowsPerSec, verifyRowsPerSec).
const GUNZIP_OPTIONS = { chunkSize: 64 * 1024 };
/** Compressed bytes the row estimate of a file is made from. */
const SAMPLE_BYTES = 64 * 1024;
/** What those may inflate to: S3's gzip of inventory CSV inflates about tenfold. */
const MAX_SAMPLE_INFLATED = 16 * 1024 * 1024;
/** Deflate's largest ratio (RFC 1951: 258 bytes from a bit or two), and the shortest row, `"k"` and a newline. */
const MAX_DEFLATE_RATIO = 1032;
const MIN_ROW_BYTES = 4;

/**
 * Gzipped CSV, S3 Inventory's first format: GetObject (resumed where it broke off) → MD5 of the
 * compressed bytes → gunzip (every member) → CSV, a chunk's records per batch. Nothing is buffered
 * beyond the streams' own high-water marks and one chunk: while the consumer awaits, the download
 * pauses. Gzip cannot seek, so rows before `startRow` are dropped at the speed of counting newlines.
 */
export const csvFormat: DataFileFormat = {
  async *open(s3: S3Client, dataFile: DataFile, options: OpenOptions): AsyncGenerator<RowBatch> {
    const { chunks } = await openDataFile(s3, dataFile.bucket, dataFile.file, {
      stats: options.stats,
      ...(options.etag && { ifMatch: options.etag }),
    });
    yield* csvBatches(chunks, formatS3Uri({ bucket: dataFile.bucket, key: dataFile.file.key }), dataFile.columns, options);
  },

  /**
   * Size and MD5 at download speed, and the rows estimated from the first 64 KiB: their rows per
   * compressed byte times the file's size (exact when the file is no larger). The estimate only
   * sizes shards: the last one reads to the end of the file whatever the count.
   */
  async verify(s3: S3Client, { bucket, file }: Omit<DataFile, 'columns'>, stats?: RunStats): Promise<VerifiedFile> {
    const { etag, sample } = await checkBytes(s3, bucket, file, stats, SAMPLE_BYTES);
    const counter = new RowCounter();
    counter.feed(inflateSample(sample, formatS3Uri({ bucket, key: file.key })));
    if (sample.length >= file.size) return { rows: counter.end(), etag };
    // However the sample inflates, no file holds more rows than its compressed bytes can make.
    const most = Math.ceil((file.size * MAX_DEFLATE_RATIO) / MIN_ROW_BYTES);
    return { rows: Math.min(most, Math.ceil((counter.rows * file.size) / Math.max(sample.length, 1))), etag, estimated: true };
  },
};

/**
 * The rows of a gzipped CSV data file from its compressed bytes: gunzip (every member), the rows
 * before `startRow` dropped by counting, then a chunk's records per batch.
 */
export async function* csvBatches(
  chunks: AsyncIterable<Buffer>,
  uri: string,
  columns: ColumnPositions,
  { startRow, selection, onPastEnd, outOfTime }: Omit<OpenOptions, 'etag' | 'stats'>,
): AsyncGenerator<RowBatch> {
  const decompressed = skipRows(startRow, { ...(onPastEnd && { onPastEnd }), ...(outOfTime && { outOfTime }), uri });
  const streaming = pipeline(Readable.from(chunks, { objectMode: false }), createGunzip(GUNZIP_OPTIONS), decompressed);
  // Errors reach the loop below through the last stream; this only keeps an early exit from
  // leaving an unhandled rejection behind.
  streaming.catch(() => {});
  const reading: CsvReading = { uri, columns, selection };
  try {
    // Inventory CSV has no header and quotes every field; reports may end with blank lines.
    for await (const records of csvRecordBatches(decompressed, startRow)) yield new CsvRows(records, reading);
    await streaming;
  } catch (error) {
    throw asDataFileError(error, uri);
  } finally {
    decompressed.destroy();
  }
}

/** The first bytes of a gzipped file, inflated as far as they go, within a bound. */
function inflateSample(sample: Buffer, uri: string): Buffer {
  try {
    return gunzipSync(sample, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_SAMPLE_INFLATED });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const problem = code === 'ERR_BUFFER_TOO_LARGE' ? `inflate to more than ${MAX_SAMPLE_INFLATED} bytes` : `do not inflate (${message})`;
    throw new DataFileError(`data file ${uri}: its first ${sample.length} bytes ${problem}: not a gzipped report S3 wrote`);
  }
}

/** What every batch of one read shares. */
interface CsvReading {
  uri: string;
  columns: ColumnPositions;
  selection: RowSelection;
}

/** One chunk's records; each row is judged only when the read reaches it. */
class CsvRows implements RowBatch {
  readonly #records: string[][];
  readonly #columns: ColumnPositions;
  readonly #fields: RowSelection['fields'];
  readonly #changedSince: number | undefined;
  readonly #uri: string;

  constructor(records: string[][], { uri, columns, selection }: CsvReading) {
    this.#records = records;
    this.#columns = columns;
    this.#fields = selection.fields;
    this.#changedSince = selection.changedSince;
    this.#uri = uri;
  }

  get length(): number {
    return this.#records.length;
  }

  outcome(index: number, row: number): RowOutcome {
    const record = this.#records[index] as string[];
    const columns = this.#columns;
    if (record.length !== columns.count) {
      throw new DataFileError(`data file ${this.#uri} row ${row} has ${record.length} fields; fileSchema names ${columns.count}`);
    }
    if (columns.isLatest !== undefined && record[columns.isLatest] === 'false') return 'notLatest';
    if (columns.isDeleteMarker !== undefined && record[columns.isDeleteMarker] === 'true') return 'deleteMarker';
    const changedSince = this.#changedSince;
    if (changedSince !== undefined && Date.parse(record[columns.details.lastModified ?? -1] ?? '') < changedSince) return 'unchanged';
    const rawKey = record[columns.key] as string;
    let key: string;
    try {
      key = decodeS3Key(rawKey);
    } catch {
      return { malformedKey: rawKey };
    }
    const bucket = record[columns.bucket] as string;
    const fields = this.#fields;
    if (fields.length === 0) return { bucket, key, row };
    return { bucket, key, row, details: detailsOf(record, columns, fields, () => `data file ${this.#uri} row ${row}`) };
  }
}

/** A Size column's value: a whole number of bytes, else the file is not one S3 wrote. */
function sizeOf(value: string, where: () => string): number {
  const size = Number(value);
  if (value === '' || !Number.isSafeInteger(size) || size < 0)
    throw new DataFileError(`${where()} column Size "${value.slice(0, 40)}" is not a whole number of bytes`);
  return size;
}

/** The optional fields of one row, typed as messages carry them; `where` names the file and row. */
function detailsOf(record: string[], columns: ColumnPositions, fields: RowSelection['fields'], where: () => string): ObjectDetails {
  const details: ObjectDetails = {};
  for (const field of fields) {
    const value = record[columns.details[field] ?? -1] ?? '';
    if (field === 'size') details.size = sizeOf(value, where);
    else if (field === 'versionId') details.versionId = value === '' ? 'null' : value;
    else if (field === 'etag') details.etag = value.replaceAll('"', '');
    else details[field] = value;
  }
  return details;
}
