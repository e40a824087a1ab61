import { Transform } from 'node:stream';
import { DataFileError } from '../core/errors.ts';

const NEWLINE = 0x0a;

/**
 * Counts the rows of decompressed inventory CSV, chunk by chunk, without parsing it: a row is a
 * non-empty line, since keys are URL-encoded and a row never holds a raw newline; the CSV parser
 * counts rows the same way. The integrity pass counts with it, and a reader skips with it.
 */
export class RowCounter {
  rows = 0;
  #lineOpen = false;

  /**
   * Counts the rows that end in `chunk`. With `limit`, stops once `rows` reaches it and returns
   * the index just after that row; otherwise, or when the chunk ends first, returns -1.
   */
  feed(chunk: Buffer, limit = Number.POSITIVE_INFINITY): number {
    let start = 0;
    for (let newline = chunk.indexOf(NEWLINE); newline !== -1; newline = chunk.indexOf(NEWLINE, start)) {
      if (this.#lineOpen || newline > start) this.rows += 1;
      this.#lineOpen = false;
      start = newline + 1;
      if (this.rows === limit) return start;
    }
    if (start < chunk.length) this.#lineOpen = true;
    return -1;
  }

  /** The count once the data has ended: a last row without a newline counts too. */
  end(): number {
    if (this.#lineOpen) this.rows += 1;
    this.#lineOpen = false;
    return this.rows;
  }
}

export interface SkipOptions {
  /** Told the file's rows when it has fewer than the rows to skip. */
  onPastEnd?: (rowsInFile: number) => void;
  /** Asked before each chunk skipped: true when the read's time is up. */
  outOfTime?: () => boolean;
  /** The file, for the error when its time runs out before the skip ends. */
  uri: string;
}

/**
 * Drops the first `rows` rows of decompressed CSV and passes the rest on, byte for byte; tells
 * `onPastEnd` the file's rows when it has fewer than that. Gzip cannot seek: a skip deep into a
 * large file takes time, and when the read's time runs out first it fails by name rather than
 * run past the invocation's end.
 */
export function skipRows(rows: number, { onPastEnd, outOfTime, uri }: SkipOptions): Transform {
  const counter = new RowCounter();
  let skipping = rows > 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (!skipping) return done(null, chunk);
      if (outOfTime?.()) {
        return done(
          new DataFileError(
            `data file ${uri}: the time ran out after skipping ${counter.rows} of the ${rows} rows before this read's first: ` +
              'a gzipped file cannot be read from the middle, and one invocation cannot count its way this deep',
          ),
        );
      }
      const after = counter.feed(chunk, rows);
      if (after === -1) return done();
      skipping = false;
      done(null, chunk.subarray(after));
    },
    flush(done) {
      // The data ended before `rows` rows: the start lay past the end of the file.
      const rowsInFile = skipping ? counter.end() : rows;
      if (rowsInFile < rows) onPastEnd?.(rowsInFile);
      done();
    },
  });
}
