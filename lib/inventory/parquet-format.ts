import type { S3Client } from '@aws-sdk/client-s3';
import { type AsyncBuffer, type ColumnMetaData, type FileMetaData, parquetMetadata, parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataFileError, PipelineError, UnsupportedFormatError } from '../core/errors.ts';
import type { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import { type ColumnValue, ColumnarRows, neededColumns } from './columnar-rows.ts';
import type { DataFile, DataFileFormat, OpenOptions, RowBatch, RowSelection, VerifiedFile } from './data-file.ts';
import { checkBytes } from './integrity.ts';
import { type ByteSource, s3ByteSource } from './ranged-source.ts';
import { readAhead } from './read-ahead.ts';
import { ThriftError, walkThriftStruct } from './parquet-thrift.ts';

/** Rows handed on at a time from a decoded row group. */
const BATCH_ROWS = 8_192;
/**
 * Codecs read: S3 Inventory writes Snappy, which hyparquet-compressors decodes in WebAssembly (the
 * reader's CPU per row fell by half against hyparquet's own JavaScript Snappy), and the others a
 * Parquet file may use but LZO.
 */
const SUPPORTED_CODECS = new Set(['UNCOMPRESSED', ...Object.keys(compressors)]);

/**
 * What a file may claim before anything is allocated for it. Writers keep pages near 1 MiB and
 * footers at a few KiB per row group; a row group is decoded whole (hyparquet), so its rows bound
 * the memory of a read.
 */
export const PARQUET_LIMITS = { footerBytes: 64 * 1024 * 1024, pageBytes: 64 * 1024 * 1024, rowGroupRows: 2 ** 25 } as const;
/** The integer fields of a page header checked before hyparquet reads the page. */
const PAGE_FIELDS: ReadonlySet<string> = new Set(['2', '3', '5.1', '7.1', '8.1', '8.3']);

/**
 * Apache Parquet, read with hyparquet row group by row group: its footer once, then for each row
 * group only the column chunks the run needs, by ranged GETs. A read that starts inside the file
 * skips whole row groups without fetching them. Memory follows the size of one row group.
 */
export const parquetFormat: DataFileFormat = {
  async *open(s3: S3Client, dataFile: DataFile, { etag, stats, ...options }: OpenOptions): AsyncGenerator<RowBatch> {
    const source = s3ByteSource(s3, dataFile.bucket, dataFile.file, { ...(etag && { etag }), stats });
    yield* parquetBatches(source, formatS3Uri({ bucket: dataFile.bucket, key: dataFile.file.key }), options);
  },

  /** MD5 and size of the bytes, at download speed; then the rows of each row group, from the footer. */
  async verify(s3: S3Client, { bucket, file }: Omit<DataFile, 'columns'>, stats?: RunStats): Promise<VerifiedFile> {
    const uri = formatS3Uri({ bucket, key: file.key });
    const { etag } = await checkBytes(s3, bucket, file, stats);
    const metadata = await readMetadata(s3ByteSource(s3, bucket, file, { ...(etag && { etag }) }), uri);
    return { rows: Number(metadata.num_rows), etag, blocks: metadata.row_groups.map((group) => Number(group.num_rows)) };
  },
};

/** The rows of a Parquet data file from its bytes, read by ranges: footer first, then the row groups from `startRow` on. */
export async function* parquetBatches(
  source: ByteSource,
  uri: string,
  { startRow, selection, onPastEnd }: Omit<OpenOptions, 'etag' | 'stats'>,
): AsyncGenerator<RowBatch> {
  const file = asyncBuffer(source);
  const metadata = await readMetadata(source, uri);
  const names = new Set(metadata.schema.slice(1).map((element) => element.name));
  const columns = neededColumns((name) => names.has(name), selection, uri);
  const rowsInFile = Number(metadata.num_rows);
  if (startRow > rowsInFile) onPastEnd?.(rowsInFile);
  const wanted = groupsFrom(metadata, columns, startRow, uri);
  const fetch = async (group: WantedGroup) => ({ group, bytes: await source.read(group.start, group.end) });
  for await (const { group, bytes } of readAhead(wanted, fetch, (group) => group.end - group.start)) {
    const { rowStart, rowEnd } = group;
    checkPages(group, bytes, uri);
    const values = await readRows({ file: withBytes(file, group.start, bytes), metadata, columns, rowStart, rowEnd }, uri);
    for (let from = 0; from < rowEnd - rowStart; from += BATCH_ROWS) {
      yield batchOf(values, from, Math.min(BATCH_ROWS, rowEnd - rowStart - from), selection, uri);
    }
  }
}

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
  index: number;
  /** All the rows of the row group, whatever the read skips. */
  rows: number;
  rowStart: number;
  rowEnd: number;
  start: number;
  end: number;
  /** The column chunks read, each with where it lies in the file and its codec. */
  chunks: ChunkSpan[];
}

interface ChunkSpan {
  name: string;
  start: number;
  end: number;
  codec: string;
}

/**
 * The most a codec's output can be, in bytes per compressed byte: Snappy's densest copy (3 bytes
 * for 64) is about 21, deflate's 1,032 (RFC 1951); the rest are bounded by `pageBytes` alone.
 */
const MAX_RATIO: Record<string, number> = { UNCOMPRESSED: 1, SNAPPY: 32, GZIP: 1_032 };

/**
 * The row groups a read from `startRow` reads. Each one's column chunks of `columns` are read as one
 * span, first byte to last (they are next to each other in S3 Inventory's files), where hyparquet
 * finds them: from the dictionary page when there is one, else from the first data page.
 */
function groupsFrom(metadata: FileMetaData, columns: string[], startRow: number, uri: string): WantedGroup[] {
  const wanted: WantedGroup[] = [];
  let groupStart = 0;
  metadata.row_groups.forEach((group, index) => {
    const rowEnd = groupStart + Number(group.num_rows);
    const rowStart = Math.max(startRow, groupStart);
    groupStart = rowEnd;
    if (rowStart >= rowEnd) return;
    const chunks = columns.map((name) =>
      chunkSpan(group.columns.find(({ meta_data: chunk }) => chunk?.path_in_schema[0] === name)?.meta_data, name, index, uri),
    );
    let start = Number.POSITIVE_INFINITY;
    let end = 0;
    for (const chunk of chunks) {
      start = Math.min(start, chunk.start);
      end = Math.max(end, chunk.end);
    }
    wanted.push({ index, rows: Number(group.num_rows), rowStart, rowEnd, start, end, chunks });
  });
  return wanted;
}

/** Where a needed column chunk of a row group lies; a row group without it is not a file S3 wrote. */
function chunkSpan(chunk: ColumnMetaData | undefined, name: string, group: number, uri: string): ChunkSpan {
  if (!chunk) throw new DataFileError(`data file ${uri} row group ${group} has no column chunk for column ${name}`);
  const start = Number(chunk.dictionary_page_offset || chunk.data_page_offset);
  const end = start + Number(chunk.total_compressed_size);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 4 || end < start) {
    throw new DataFileError(`data file ${uri} row group ${group} column ${name}: its chunk's bytes ${start} to ${end} are not in the file`);
  }
  return { name, start, end, codec: chunk.codec };
}

/**
 * The page headers of each column chunk of a row group, walked before hyparquet reads them: each
 * nests within bounds, its page lies inside its chunk, and what it claims (its inflated size, its
 * values) is within bounds, so that no allocation follows a forged header.
 */
function checkPages(group: WantedGroup, bytes: Buffer, uri: string): void {
  for (const chunk of group.chunks) {
    const where = `data file ${uri} row group ${group.index} column ${chunk.name}`;
    const end = chunk.end - group.start;
    for (let at = chunk.start - group.start; at < end; )
      at = checkPage(bytes.subarray(0, end), at, { rows: group.rows, codec: chunk.codec }, where);
  }
}

/** One page header at `at`, checked; returns where the next one starts. */
function checkPage(chunk: Buffer, at: number, { rows: groupRows, codec }: { rows: number; codec: string }, where: string): number {
  let header: ReturnType<typeof walkThriftStruct>;
  try {
    header = walkThriftStruct(chunk, at, PAGE_FIELDS);
  } catch (error) {
    if (error instanceof ThriftError) throw new DataFileError(`${where}: a page header does not parse (${error.message})`);
    throw error;
  }
  const claim = (field: string) => header.ints.get(field) ?? 0;
  const compressed = header.ints.get('3') ?? -1;
  const inflated = header.ints.get('2') ?? -1;
  if (compressed < 0 || header.end + compressed > chunk.length)
    throw new DataFileError(`${where}: a page of ${compressed} bytes runs past its column chunk`);
  if (inflated < 0 || inflated > PARQUET_LIMITS.pageBytes)
    throw new DataFileError(`${where}: a page claims ${inflated} bytes inflated, outside 0 to ${PARQUET_LIMITS.pageBytes}`);
  const ratio = MAX_RATIO[codec];
  // A few bytes of slack: a version 2 page's levels are stored uncompressed before its values.
  if (ratio !== undefined && inflated > compressed * ratio + 64)
    throw new DataFileError(
      `${where}: a page of ${compressed} bytes claims ${inflated} bytes inflated, more than ${codec} can make of them`,
    );
  // A column of S3 Inventory has one value a row: no page holds more than its row group's rows.
  const values = Math.max(claim('5.1'), claim('8.1'), claim('8.3'));
  if (values > groupRows || claim('7.1') > inflated || Math.min(claim('5.1'), claim('7.1'), claim('8.1'), claim('8.3')) < 0) {
    throw new DataFileError(`${where}: a page claims more values than its row group or its bytes hold`);
  }
  return header.end + compressed;
}

/**
 * The footer, read with its length and nesting bounded before hyparquet parses it, then every
 * codec and the row counts checked: an unsupported feature fails the file by name.
 */
async function readMetadata(source: ByteSource, uri: string): Promise<FileMetaData> {
  const notParquet = (problem: string) => new DataFileError(`data file ${uri} is not a readable Parquet file: ${problem}`);
  if (source.size < 12) throw notParquet(`it is ${source.size} bytes`);
  const last = await source.read(source.size - 8, source.size);
  const length = last.readUInt32LE(0);
  if (last.toString('latin1', 4) !== 'PAR1') throw notParquet('its last bytes are not "PAR1"');
  if (length > source.size - 12 || length > PARQUET_LIMITS.footerBytes) throw notParquet(`its footer claims ${length} bytes`);
  const tail = Buffer.concat([await source.read(source.size - 8 - length, source.size - 8), last]);
  let metadata: FileMetaData;
  try {
    walkThriftStruct(tail, 0);
    metadata = parquetMetadata(arrayBufferOf(tail));
  } catch (error) {
    // What hyparquet throws on these bytes is a file it cannot read, whatever its class.
    throw notParquet((error as Error).message);
  }
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const codec = chunk.meta_data?.codec;
      if (codec !== undefined && !SUPPORTED_CODECS.has(codec)) {
        throw new UnsupportedFormatError(`data file ${uri} is compressed with ${codec}, which this reader does not decode`);
      }
    }
  }
  metadata.row_groups.forEach((group, index) => {
    const rows = Number(group.num_rows);
    if (!Number.isSafeInteger(rows) || rows < 0 || rows > PARQUET_LIMITS.rowGroupRows) {
      throw new UnsupportedFormatError(
        `data file ${uri} row group ${index} has ${group.num_rows} rows; this reader reads row groups of up to ${PARQUET_LIMITS.rowGroupRows}`,
      );
    }
  });
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
    // The download's own errors are named already; what hyparquet throws on checked pages is a file it cannot read.
    if (error instanceof PipelineError) throw error;
    throw new DataFileError(`data file ${uri} rows ${options.rowStart} to ${options.rowEnd}: ${(error as Error).message}`, {
      cause: error,
    });
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
