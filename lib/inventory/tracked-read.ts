import type { S3Client } from '@aws-sdk/client-s3';
import { RowWatermark } from '../core/row-watermark.ts';
import type { RunStats } from '../core/run-stats.ts';
import type { DataFile, DataFileFormat, InventoryObject, RowBatch, RowSelection } from './data-file.ts';

export interface ReadRange {
  /** Rows already done: the read begins after them. */
  startRow: number;
  /** The read ends after this row (a shard of the file); absent: at the end of the file. */
  lastRow?: number;
  /**
   * Asked before each row, skipped rows included: true ends the read there, leaving that row
   * unread for a continuation, so that a time budget holds even when almost every row is skipped.
   */
  shouldStop?: (row: number) => boolean;
  /** True once the invocation's time is up: a format still skipping to the start row then fails by name. */
  outOfTime?: () => boolean;
}

/**
 * One read of a data file, from a row to the end of the file or of its range, and how far it got:
 * the one place that owns the row-boundary rule for every format and for both the worker and the
 * CLI. Rows are numbered from 1; each one is counted as read, skipped with its reason, or handed
 * over as an object; `watermark` holds how many leading rows are done once their messages settle,
 * so that a checkpoint of it never skips a row.
 */
export class TrackedRead {
  readonly watermark: RowWatermark;
  readonly #source: { s3: S3Client; format: DataFileFormat; file: DataFile };
  readonly #stats: RunStats;
  readonly #lastRow: number;
  readonly #shouldStop: (row: number) => boolean;
  readonly #outOfTime: (() => boolean) | undefined;
  /** The last row read, skipped rows included. */
  #position: number;
  #stopped = false;
  #ended = false;
  #rowsIfPastEnd: number | undefined;

  constructor(source: { s3: S3Client; format: DataFileFormat; file: DataFile }, stats: RunStats, range: ReadRange) {
    this.#source = source;
    this.#stats = stats;
    this.#position = range.startRow;
    this.#lastRow = range.lastRow ?? Number.POSITIVE_INFINITY;
    this.#shouldStop = range.shouldStop ?? (() => false);
    this.#outOfTime = range.outOfTime;
    this.watermark = new RowWatermark(range.startRow);
  }

  /** `shouldStop` ended the read: the rows from `position + 1` on are left for a continuation. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** The read reached the end of the file, or the last row of its range. */
  get ended(): boolean {
    return this.#ended;
  }

  get position(): number {
    return this.#position;
  }

  /** The file's rows, when it has fewer than the start row: the read began past its end. */
  get rowsIfPastEnd(): number | undefined {
    return this.#rowsIfPastEnd;
  }

  /**
   * The current objects of the rows read, a batch at a time; `etag` pins the bytes to the ones the
   * integrity pass checked. Ends when the file or range ends, or when `shouldStop` says so.
   */
  async *batches(selection: RowSelection, etag?: string): AsyncGenerator<InventoryObject[]> {
    const { s3, format, file } = this.#source;
    const onPastEnd = (rows: number) => {
      this.#rowsIfPastEnd = rows;
    };
    const outOfTime = this.#outOfTime;
    const options = {
      startRow: this.#position,
      stats: this.#stats,
      selection,
      onPastEnd,
      ...(outOfTime && { outOfTime }),
      ...(etag && { etag }),
    };
    let atBoundary = false;
    for await (const rows of format.open(s3, file, options)) {
      const objects: InventoryObject[] = [];
      atBoundary = this.#take(rows, objects);
      if (objects.length > 0) yield objects;
      if (atBoundary) break;
    }
    this.watermark.consumedThrough(this.#position);
    this.#ended = !this.#stopped;
  }

  /** The publisher is done with `object`: published or skipped (`done`), or failed. */
  settle(object: InventoryObject, done: boolean): void {
    if (done) this.watermark.settled(object.row);
    else this.watermark.failed(object.row);
  }

  /** Reads the rows of one batch into `objects`; true when a boundary ended the read within it. */
  #take(rows: RowBatch, objects: InventoryObject[]): boolean {
    const { length } = rows;
    const stats = this.#stats;
    for (let index = 0; index < length; index += 1) {
      const row = this.#position + 1;
      if (row > this.#lastRow) return true;
      if (this.#shouldStop(row)) {
        this.#stopped = true;
        return true;
      }
      this.#position = row;
      stats.rowsRead += 1;
      const outcome = rows.outcome(index, row);
      if (typeof outcome === 'string') stats.skip(outcome);
      else if ('malformedKey' in outcome) stats.recordMalformedKey(outcome.malformedKey);
      else if (outcome.bucket !== this.#source.file.sourceBucket) stats.recordOtherBucket(outcome.bucket);
      else {
        this.watermark.sent(row);
        objects.push(outcome);
      }
    }
    return false;
  }
}
