import type { S3Client } from '@aws-sdk/client-s3';
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataFileError, UnsupportedFormatError } from '../core/errors.ts';
import type { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import { type ColumnValue, ColumnarRows, neededColumns } from './columnar-rows.ts';
import type { DataFile, DataFileFormat, OpenOptions, RowBatch, RowSelection, VerifiedFile } from './data-file.ts';
import { asDataFileError } from './download.ts';
import { checkBytes } from './integrity.ts';
import { type ByteSource, s3ByteSource } from './ranged-source.ts';
import { readAhead } from './read-ahead.ts';

/** Rows handed on at a time from a decoded row group. */
const BATCH_ROWS = 8_192;
/**
 * Codecs read: S3 Inventory writes Snappy, which hyparquet-compressors decodes in WebAssembly (the
 * reader's CPU per row fell by half against hyparquet's own JavaScript Snappy), and the others a
 * Parquet file may use but LZO.
 */
const SUPPORTED_CODECS = new Set(['UNCOMPRESSED', ...Object.keys(compressors)]);

/**
 * Apache Parquet, read with hyparquet row group by row group: its footer once, then for each row
 * group only the column chunks the run needs, by ranged GETs. A read that starts inside the file
 * skips whole row groups without fetching them. Memory follows the size of one row group.
 */
export const parquetFormat: DataFileFormat = {
  async *open(s3: S3Client, dataFile: DataFile, { startRow, etag, stats, selection, onPastEnd }: OpenOptions): AsyncGenerator<RowBatch> {
    const uri = formatS3Uri({ bucket: dataFile.bucket, key: dataFile.file.key });
    const source = s3ByteSource(s3, dataFile.bucket, dataFile.file, { ...(etag && { etag }), stats });
    const file = asyncBuffer(source);
    const metadata = await readMetadata(file, uri);
    const names = new Set(metadata.schema.slice(1).map((element) => element.name));
    const columns = neededColumns((name) => names.has(name), selection, uri);
    const rowsInFile = Number(metadata.num_rows);
    if (startRow > rowsInFile) onPastEnd?.(rowsInFile);
    const wanted = groupsFrom(metadata, columns, startRow);
    const fetch = async (group: WantedGroup) => ({ group, bytes: await source.read(group.start, group.end) });
    for await (const { group, bytes } of readAhead(wanted, fetch, (group) => group.end - group.start)) {
      const { rowStart, rowEnd } = group;
      const values = await readRows({ file: withBytes(file, group.start, bytes), metadata, columns, rowStart, rowEnd }, uri);
      for (let from = 0; from < rowEnd - rowStart; from += BATCH_ROWS) {
        yield batchOf(values, from, Math.min(BATCH_ROWS, rowEnd - rowStart - from), selection, uri);
      }
    }
  },

  /** MD5 and size of the bytes, at download speed; then the rows of each row group, from the footer. */
  async verify(s3: S3Client, { bucket, file }: Omit<DataFile, 'columns'>, stats?: RunStats): Promise<VerifiedFile> {
    const uri = formatS3Uri({ bucket, key: file.key });
    const { etag } = await checkBytes(s3, bucket, file, stats);
    const metadata = await readMetadata(asyncBuffer(s3ByteSource(s3, bucket, file, { ...(etag && { etag }) })), uri);
    return { rows: Number(metadata.num_rows), etag, blocks: metadata.row_groups.map((group) => Number(group.num_rows)) };
  },
};

function asyncBuffer(source: ByteSource): AsyncBuffer {
  return { byteLength: source.size, slice: async (start, end = source.size) => arrayBufferOf(await source.read(start, end)) };
}

/** `file`, with the bytes from `start` already read: hyparquet's reads inside them make no request. */
function withBytes(file: AsyncBuffer, start: number, bytes: Buffer): AsyncBuffer {
  return {
    byteLength: file.byteLength,
    slice: (from, to = file.byteLength) =>
      from >= start && to <= start + bytes.length ? arrayBufferOf(bytes.subarray(from - start, to - start)) : file.slice(from, to),
  };
}

/** The bytes as an ArrayBuffer of their own, as hyparquet takes them; a copy only when they are part of a larger one. */
function arrayBufferOf(bytes: Buffer): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
}

/** A row group a read from `startRow` reads: its rows from there, and the span of its bytes that holds the columns read. */
interface WantedGroup {
  rowStart: number;
  rowEnd: number;
  start: number;
  end: number;
}

/**
 * The row groups a read from `startRow` reads. Each one's column chunks of `columns` are read as one
 * span, first byte to last (they are next to each other in S3 Inventory's files), where hyparquet
 * finds them: from the dictionary page when there is one, else from the first data page.
 */
function groupsFrom(metadata: FileMetaData, columns: string[], startRow: number): WantedGroup[] {
  const wanted: WantedGroup[] = [];
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = groupStart + Number(group.num_rows);
    const rowStart = Math.max(startRow, groupStart);
    groupStart = rowEnd;
    if (rowStart >= rowEnd) continue;
    const chunks = group.columns.flatMap(({ meta_data: chunk }) =>
      chunk && columns.includes(chunk.path_in_schema[0] ?? '') ? [chunk] : [],
    );
    const starts = chunks.map((chunk) => Number(chunk.dictionary_page_offset || chunk.data_page_offset));
    const ends = chunks.map((chunk, index) => (starts[index] as number) + Number(chunk.total_compressed_size));
    wanted.push({ rowStart, rowEnd, start: Math.min(...starts), end: Math.max(...ends) });
  }
  return wanted;
}

/** The footer, with every codec and the row counts checked: an unsupported feature fails the file by name. */
async function readMetadata(file: AsyncBuffer, uri: string): Promise<FileMetaData> {
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw error instanceof DataFileError
      ? error
      : new DataFileError(`data file ${uri} is not a readable Parquet file: ${(error as Error).message}`, { cause: error });
  }
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const codec = chunk.meta_data?.codec;
      if (codec !== undefined && !SUPPORTED_CODECS.has(codec)) {
        throw new UnsupportedFormatError(`data file ${uri} is compressed with ${codec}, which this reader does not decode`);
      }
    }
  }
  if (metadata.row_groups.some((group) => !Number.isSafeInteger(Number(group.num_rows)))) {
    throw new DataFileError(`data file ${uri} has a row group of more than 2^53 rows`);
  }
  return metadata;
}

type Rows = Map<string, { rowStart: number; values: ArrayLike<ColumnValue> }[]>;

/** The values of `columns` for rows `[rowStart, rowEnd)`, as hyparquet hands them over, chunk by chunk. */
async function readRows(
  options: { file: AsyncBuffer; metadata: FileMetaData; columns: string[]; rowStart: number; rowEnd: number },
  uri: string,
) {
  const chunks: Rows = new Map(options.columns.map((name) => [name, []]));
  try {
    await parquetRead({
      ...options,
      compressors,
      onChunk: ({ columnName, columnData, rowStart }) =>
        chunks.get(columnName)?.push({ rowStart, values: columnData as ArrayLike<ColumnValue> }),
    });
  } catch (error) {
    throw error instanceof DataFileError ? error : asDataFileError(error, uri);
  }
  return { chunks, rowStart: options.rowStart };
}

/** Rows `[from, from + count)` of what `readRows` read, counted from its first row; chunks may begin before it. */
function batchOf(read: Awaited<ReturnType<typeof readRows>>, from: number, count: number, selection: RowSelection, uri: string): RowBatch {
  const first = read.rowStart + from;
  const columns = new Map<string, ColumnValue[]>();
  for (const [name, chunks] of read.chunks) {
    const values: ColumnValue[] = new Array(count);
    for (const chunk of chunks) {
      const end = Math.min(first + count, chunk.rowStart + chunk.values.length);
      for (let row = Math.max(first, chunk.rowStart); row < end; row += 1) values[row - first] = chunk.values[row - chunk.rowStart];
    }
    columns.set(name, values);
  }
  return new ColumnarRows(count, columns, selection, uri);
}
