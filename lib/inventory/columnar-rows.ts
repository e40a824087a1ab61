import { DataFileError, UnsupportedFormatError } from '../core/errors.ts';
import { DETAIL_FIELDS, type MessageField, type ObjectDetails } from '../core/types.ts';
import type { RowBatch, RowOutcome, RowSelection } from './data-file.ts';
import { COLUMN_NAMES } from './manifest.ts';

/** A value as Parquet and ORC readers decode it: strings, booleans, numbers, int64 as bigint, timestamps as Date or ms. */
export type ColumnValue = string | boolean | number | bigint | Date | null | undefined;

/** One batch's values of each column read, by column name (snake_case, as in the files). */
export type ColumnValues = Map<string, ArrayLike<ColumnValue>>;

const NAMES = COLUMN_NAMES.columnar;

/**
 * The columns a read of a Parquet or ORC data file needs: bucket and key; the version columns
 * when the file has them; last_modified_date for `changed` mode; and each message field's column.
 * `has` says which the file holds; a needed one it lacks fails the file with its name.
 */
export function neededColumns(has: (name: string) => boolean, selection: RowSelection, uri: string): string[] {
  const needed = [NAMES.bucket, NAMES.key, ...selection.fields.map((field) => NAMES[field])];
  if (selection.changedSince !== undefined) needed.push(NAMES.lastModified);
  const missing = needed.filter((name) => !has(name));
  if (missing.length > 0) throw new DataFileError(`data file ${uri} has no ${missing.join(', ')} column`);
  const versions = [NAMES.isLatest, NAMES.isDeleteMarker].filter(has);
  return [...new Set([...needed, ...versions])];
}

/**
 * Rows of a columnar data file: the same judgement as CSV's rows (older versions and delete
 * markers skipped, `changed` mode, the message fields with the same types), over typed columns.
 * Keys are stored as they are in Parquet and ORC: no URL-decoding.
 */
export class ColumnarRows implements RowBatch {
  readonly length: number;
  readonly #bucket: ArrayLike<ColumnValue>;
  readonly #key: ArrayLike<ColumnValue>;
  readonly #isLatest: ArrayLike<ColumnValue> | undefined;
  readonly #isDeleteMarker: ArrayLike<ColumnValue> | undefined;
  readonly #lastModified: ArrayLike<ColumnValue> | undefined;
  readonly #details: Array<[MessageField, ArrayLike<ColumnValue>]>;
  readonly #changedSince: number | undefined;
  readonly #uri: string;

  constructor(length: number, columns: ColumnValues, selection: RowSelection, uri: string) {
    this.length = length;
    this.#bucket = columns.get(NAMES.bucket) ?? [];
    this.#key = columns.get(NAMES.key) ?? [];
    this.#isLatest = columns.get(NAMES.isLatest);
    this.#isDeleteMarker = columns.get(NAMES.isDeleteMarker);
    this.#lastModified = columns.get(NAMES.lastModified);
    this.#details = DETAIL_FIELDS.filter((field) => selection.fields.includes(field)).map((field) => [
      field,
      columns.get(NAMES[field]) ?? [],
    ]);
    this.#changedSince = selection.changedSince;
    this.#uri = uri;
  }

  outcome(index: number, row: number): RowOutcome {
    if (this.#isLatest?.[index] === false) return 'notLatest';
    if (this.#isDeleteMarker?.[index] === true) return 'deleteMarker';
    if (this.#changedSince !== undefined && epochMs(this.#lastModified?.[index]) < this.#changedSince) return 'unchanged';
    const key = this.#key[index];
    if (typeof key !== 'string' || key === '') return { malformedKey: String(key) };
    const bucket = this.#bucket[index];
    if (typeof bucket !== 'string') throw new DataFileError(`data file ${this.#uri} row ${row} has no bucket`);
    if (this.#details.length === 0) return { bucket, key, row };
    const details: ObjectDetails = {};
    for (const [field, values] of this.#details) setDetail(details, field, values[index], row, this.#uri);
    return { bucket, key, row, details };
  }
}

function setDetail(details: ObjectDetails, field: MessageField, value: ColumnValue, row: number, uri: string): void {
  if (field === 'size') details.size = safeNumber(value, row, uri);
  else if (field === 'lastModified') details.lastModified = value === null || value === undefined ? '' : isoTime(value, row, uri);
  else if (field === 'versionId') details.versionId = value === null || value === undefined || value === '' ? 'null' : String(value);
  else if (field === 'etag') details.etag = String(value ?? '').replaceAll('"', '');
  else details[field] = String(value ?? '');
}

/** JavaScript's dates end 8.64e15 ms either side of 1970. */
const MAX_DATE_MS = 8.64e15;

/** A timestamp in ISO 8601, or the file named when it lies outside what a date can be. */
function isoTime(value: ColumnValue, row: number, uri: string): string {
  const ms = epochMs(value);
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) {
    throw new DataFileError(
      `data file ${uri} row ${row} column ${NAMES.lastModified} holds a time outside the range of dates (${String(value)})`,
    );
  }
  return new Date(ms).toISOString();
}

/** A timestamp as epoch milliseconds: NaN when there is none, so that no comparison holds. */
function epochMs(value: ColumnValue): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'bigint') return Number(value);
  return typeof value === 'number' ? value : Number.NaN;
}

function safeNumber(value: ColumnValue, row: number, uri: string): number {
  if (value === null || value === undefined) return 0;
  const number = Number(value);
  if (!Number.isSafeInteger(number)) {
    throw new UnsupportedFormatError(`data file ${uri} row ${row} has a size over 2^53 bytes, which messages cannot carry exactly`);
  }
  return number;
}
