/**
 * How many leading rows of a data file are done, while their messages settle out of order: rows
 * handed to the publisher are pending until settled; rows read past without a message (skipped)
 * are done at once. A checkpoint of `rowsDone` never covers a row whose message is unsettled or
 * failed, so resuming from it skips nothing.
 */
export class RowWatermark {
  readonly #pending: number[] = [];
  #head = 0;
  readonly #settled = new Set<number>();
  #consumed: number;
  #firstFailed = Number.POSITIVE_INFINITY;

  /** `startRow`: rows already done before this run. */
  constructor(startRow = 0) {
    this.#consumed = startRow;
  }

  /** Row `row` was handed to the publisher; every row before it was handed over or skipped. */
  sent(row: number): void {
    this.#pending.push(row);
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
    this.#settled.add(row);
    while (this.#head < this.#pending.length && this.#settled.delete(this.#pending[this.#head] as number)) this.#head += 1;
    // Drop the settled prefix now and then; what remains is bounded by the messages in flight.
    if (this.#head > 1_024 && this.#head * 2 > this.#pending.length) {
      this.#pending.splice(0, this.#head);
      this.#head = 0;
    }
  }

  get rowsDone(): number {
    const done = this.#head < this.#pending.length ? (this.#pending[this.#head] as number) - 1 : this.#consumed;
    return Math.min(done, this.#firstFailed - 1);
  }
}
