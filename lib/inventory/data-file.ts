import type { S3Client } from '@aws-sdk/client-s3';
import type { RunStats } from '../core/run-stats.ts';
import type { MessageField, ObjectRef, SkipReason } from '../core/types.ts';
import type { ColumnPositions, ManifestFile } from './manifest.ts';

/** One data file to read: where it is, what the manifest says of it, and its columns. */
export interface DataFile {
  /** The bucket that holds the report. */
  bucket: string;
  /** The bucket the report lists: every row must name it. */
  sourceBucket: string;
  file: ManifestFile;
  columns: ColumnPositions;
}

/** A current object of a report, with its row number in the data file (from 1). */
export interface InventoryObject extends ObjectRef {
  row: number;
}

/** What the integrity pass learnt of a data file whose size and MD5 match the manifest. */
export interface VerifiedFile {
  /** Rows of the file: from the footer (Parquet, ORC), or estimated from its start (CSV). */
  rows: number;
  etag: string | undefined;
  /** `rows` is an estimate: it sizes shards, and the last shard reads to the end of the file. */
  estimated?: boolean;
  /** Rows of each row group (Parquet) or stripe (ORC), in order: shards start at their boundaries. */
  blocks?: number[];
}

/** Which rows become messages, and what the messages carry. */
export interface RowSelection {
  /** Optional fields to read into each object's details (the columns were checked at start). */
  fields: readonly MessageField[];
  /** Only objects modified at or after this time (epoch ms); the others are skipped as `unchanged`. */
  changedSince?: number;
}

/** A row whose key could not be decoded, as the report holds it. */
export interface MalformedKey {
  malformedKey: string;
}

/** What one row of a data file comes to: a current object, or why it gives none. */
export type RowOutcome = InventoryObject | Extract<SkipReason, 'deleteMarker' | 'notLatest' | 'unchanged'> | MalformedKey;

/** Rows of a data file as a format decoded them, a batch at a time. */
export interface RowBatch {
  readonly length: number;
  /** Row `index` of the batch, which is row `row` of the file, under the read's selection. */
  outcome(index: number, row: number): RowOutcome;
}

export interface OpenOptions {
  /** Rows already done: the batches begin with the row after them. */
  startRow: number;
  /** The ETag the verifying pass read: the rows come from the very bytes that were checked. */
  etag?: string;
  /** Counts the bytes read and the download's resumes. */
  stats: RunStats;
  selection: RowSelection;
  /** Told the file's rows when it has fewer than `startRow` (a continuation past its end). */
  onPastEnd?: (rowsInFile: number) => void;
  /**
   * True once the read's time is up: asked while a format skips to `startRow` with no row to show
   * for it, which then fails by name rather than run on past the invocation's end.
   */
  outOfTime?: () => boolean;
}

/**
 * What a format of data file implements: its rows from a given row on, in order and in batches,
 * and the integrity pass that runs before any of them is published. The format knows nothing of
 * time budgets, shards or checkpoints: `TrackedRead` owns where a read starts and stops.
 */
export interface DataFileFormat {
  open(s3: S3Client, file: DataFile, options: OpenOptions): AsyncGenerator<RowBatch>;
  verify(s3: S3Client, file: Omit<DataFile, 'columns' | 'sourceBucket'>, stats?: RunStats): Promise<VerifiedFile>;
}
