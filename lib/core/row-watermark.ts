/**
 * How many leading rows of a data file are done, while their messages settle out of order: rows
 * handed to the publisher are pending until settled; rows read past without a message (skipped)
 * are done at once. A checkpoint of `rowsDone` never covers a row whose message is unsettled or
 * failed, so resuming from it skips nothing.
 */
export class RowWatermark {
  /** Rows handed over and not yet behind the watermark, in order; `#isSettled[i]` is for `#rows[i]`. */
  readonly #rows: number[] = [];
  readonly #isSettled: boolean[] = [];
  #head = 0;
  #consumed: number;
  #firstFailed = Number.POSITIVE_INFINITY;

  /** `startRow`: rows already done before this run. */
  constructor(startRow = 0) {
    this.#consumed = startRow;
  }

  /** Row `row` was handed to the publisher; every row before it was handed over or skipped. */
  sent(row: number): void {
    this.#rows.push(row);
    this.#isSettled.push(false);
    this.#consumed = row;
  }

  /** Rows up to `row` were read and need no message. */
  consumedThrough(row: number): void {
    this.#consumed = Math.max(this.#consumed, row);
  }

  /** The message of `row` could not be published: no checkpoint may pass it. */
  failed(row: number): void {
    this.#firstFailed = Math.min(this.#firstFailed, row);
    this.settled(row);
  }

  settled(row: number): void {
    const index = this.#indexOf(row);
    if (index === -1) return;
    this.#isSettled[index] = true;
    while (this.#head < this.#rows.length && this.#isSettled[this.#head]) this.#head += 1;
    // Drop the settled prefix now and then; what remains is bounded by the messages in flight.
    if (this.#head > 1_024 && this.#head * 2 > this.#rows.length) {
      this.#rows.splice(0, this.#head);
      this.#isSettled.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** A row failed: `rowsDone` stays before it for the rest of this read. */
  get hasFailed(): boolean {
    return this.#firstFailed !== Number.POSITIVE_INFINITY;
  }

  get rowsDone(): number {
    const done = this.#head < this.#rows.length ? (this.#rows[this.#head] as number) - 1 : this.#consumed;
    return Math.min(done, this.#firstFailed - 1);
  }

  /** Where a pending row is (rows are handed over in increasing order): a binary search, no allocation. */
  #indexOf(row: number): number {
    let low = this.#head;
    let high = this.#rows.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.#rows[middle] as number;
      if (value === row) return middle;
      if (value < row) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}
