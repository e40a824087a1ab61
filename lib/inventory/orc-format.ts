import type { S3Client } from '@aws-sdk/client-s3';
import { DataFileError, UnsupportedFormatError } from '../core/errors.ts';
import type { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import { ColumnarRows, neededColumns } from './columnar-rows.ts';
import type { DataFile, DataFileFormat, OpenOptions, RowBatch, VerifiedFile } from './data-file.ts';
import { asDataFileError } from './download.ts';
import { checkBytes } from './integrity.ts';
import type { ColumnReader } from './orc/columns.ts';
import { OrcError } from './orc/errors.ts';
import { OrcFile, type StripeInformation } from './orc/file.ts';
import { readAhead } from './read-ahead.ts';
import { type ByteSource, s3ByteSource } from './ranged-source.ts';

/** Rows decoded at a time within a stripe: memory holds one batch of the columns read, not a stripe. */
const BATCH_ROWS = 8_192;

/**
 * Apache ORC, as S3 Inventory writes it (ZLIB). The file's tail is read once; then, stripe by
 * stripe, only the streams of the columns the run needs, by ranged GETs; a read that starts
 * inside the file skips whole stripes without fetching them, and rows within its first stripe.
 */
export const orcFormat: DataFileFormat = {
  async *open(s3: S3Client, dataFile: DataFile, { etag, stats, ...options }: OpenOptions): AsyncGenerator<RowBatch> {
    const source = s3ByteSource(s3, dataFile.bucket, dataFile.file, { ...(etag && { etag }), stats });
    yield* orcBatches(source, formatS3Uri({ bucket: dataFile.bucket, key: dataFile.file.key }), options);
  },

  /** MD5 and size of the bytes, at download speed; then the rows of each stripe, from the footer. */
  async verify(s3: S3Client, { bucket, file }: Omit<DataFile, 'columns'>, stats?: RunStats): Promise<VerifiedFile> {
    const uri = formatS3Uri({ bucket, key: file.key });
    const { etag } = await checkBytes(s3, bucket, file, stats);
    const orc = await openOrc(s3ByteSource(s3, bucket, file, { ...(etag && { etag }) }), uri);
    return { rows: orc.rows, etag, blocks: orc.stripes.map((stripe) => stripe.rows) };
  },
};

/** The rows of an ORC data file from its bytes, read by ranges: its tail first, then the stripes from `startRow` on. */
export async function* orcBatches(
  source: ByteSource,
  uri: string,
  { startRow, selection, onPastEnd }: Omit<OpenOptions, 'etag' | 'stats'>,
): AsyncGenerator<RowBatch> {
  const orc = await openOrc(source, uri);
  const columns = neededColumns((name) => orc.has(name), selection, uri);
  if (startRow > orc.rows) onPastEnd?.(orc.rows);
  const wanted = stripesFrom(orc, startRow);
  const inflateAhead = (readers: Map<string, ColumnReader>) =>
    orcCall(() => Promise.all([...readers.values()].map((reader) => reader.inflateAhead())), uri);
  const fetch = async ({ index, rows, skip }: (typeof wanted)[number]) => {
    const readers = await orcCall(() => orc.stripe(index, columns), uri);
    await inflateAhead(readers);
    return { rows, skip, readers };
  };
  const size = ({ index }: (typeof wanted)[number]) => {
    const stripe = orc.stripes[index] as StripeInformation;
    return stripe.dataLength + stripe.footerLength;
  };
  for await (const { rows, skip, readers } of readAhead(wanted, fetch, size)) {
    const batch = (count: number) => new Map(columns.map((name) => [name, readers.get(name)?.read(count) ?? []]));
    // Rows before the start are decoded and dropped a batch at a time, however many a stripe claims.
    for (let left = skip; left > 0; left -= BATCH_ROWS) orcCall(() => batch(Math.min(left, BATCH_ROWS)), uri);
    for (let left = rows - skip; left > 0; left -= BATCH_ROWS) {
      const count = Math.min(left, BATCH_ROWS);
      await inflateAhead(readers);
      yield new ColumnarRows(
        count,
        orcCall(() => batch(count), uri),
        selection,
        uri,
      );
    }
  }
}

/** The stripes a read from `startRow` reads, with the rows of each it skips. */
function stripesFrom(orc: OrcFile, startRow: number): Array<{ index: number; rows: number; skip: number }> {
  const wanted: Array<{ index: number; rows: number; skip: number }> = [];
  let firstRow = 0;
  orc.stripes.forEach(({ rows }, index) => {
    const skip = Math.max(0, startRow - firstRow);
    firstRow += rows;
    if (skip < rows) wanted.push({ index, rows, skip });
  });
  return wanted;
}

async function openOrc(source: ByteSource, uri: string): Promise<OrcFile> {
  try {
    return await OrcFile.open(source, `data file ${uri}`);
  } catch (error) {
    throw asOrcFileError(error, uri);
  }
}

/** Runs a step of the ORC reader, naming the file in any error it raises. */
function orcCall<T>(step: () => T, uri: string): T {
  try {
    const result = step();
    if (result instanceof Promise) return result.catch((error: unknown) => Promise.reject(asOrcFileError(error, uri))) as T;
    return result;
  } catch (error) {
    throw asOrcFileError(error, uri);
  }
}

function asOrcFileError(error: unknown, uri: string): Error {
  if (!(error instanceof OrcError)) return asDataFileError(error, uri);
  const message = error.message.includes(uri) ? error.message : `data file ${uri}: ${error.message}`;
  // A feature the reader does not decode is refused by name; anything else is a broken file.
  return error.unsupported ? new UnsupportedFormatError(message, { cause: error }) : new DataFileError(message, { cause: error });
}
