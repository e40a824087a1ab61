/** A listed key handed to the publisher, until its message settles. */
export interface HandedKey {
  readonly key: string;
  state: 'pending' | 'published' | 'failed';
}

/**
 * How far one key range is settled, while its messages settle out of order: keys are handed over
 * (or passed without a message) in listing order, and `settledThrough` is the last key such that
 * it and every key before it were published or skipped. A failed key holds the watermark before
 * it for good, so a continuation from `settledThrough` lists it again; what is queued stays
 * bounded by the messages in flight.
 */
export class KeyWatermark {
  readonly #queue: HandedKey[] = [];
  #head = 0;
  #settledThrough: string | undefined;
  #held = false;
  #settledKeys: number;

  /** `startAfter`: the range's start, or where earlier runs got to, having settled `settledKeys` keys. */
  constructor(startAfter?: string, settledKeys = 0) {
    this.#settledThrough = startAfter;
    this.#settledKeys = settledKeys;
  }

  /** Keys settled through `settledThrough`: each key of the range counted once, however often it was listed. */
  get settledKeys(): number {
    return this.#settledKeys;
  }

  /** The last key settled with every key before it; undefined while none is (the range's start). */
  get settledThrough(): string | undefined {
    return this.#settledThrough;
  }

  /** Every key handed over or passed is settled, and none failed. */
  get settled(): boolean {
    return !this.#held && this.#head === this.#queue.length;
  }

  /** `key` goes to the publisher; settle the returned entry when its message is done with. */
  hand(key: string): HandedKey {
    const entry: HandedKey = { key, state: 'pending' };
    if (!this.#held) this.#queue.push(entry);
    return entry;
  }

  /** `key` needs no message (skipped): settled as soon as every key before it is. */
  pass(key: string): void {
    if (this.#held) return;
    if (this.#head === this.#queue.length) {
      this.#settledThrough = key;
      this.#settledKeys += 1;
    } else this.#queue.push({ key, state: 'published' });
  }

  settle(entry: HandedKey, published: boolean): void {
    entry.state = published ? 'published' : 'failed';
    this.#advance();
  }

  #advance(): void {
    while (!this.#held && this.#head < this.#queue.length) {
      const entry = this.#queue[this.#head] as HandedKey;
      if (entry.state === 'pending') break;
      if (entry.state === 'failed') {
        // Nothing past a failed key can move the watermark again: drop what is queued.
        this.#held = true;
        this.#queue.length = 0;
        this.#head = 0;
        return;
      }
      this.#settledThrough = entry.key;
      this.#settledKeys += 1;
      this.#head += 1;
    }
    // Drop the settled prefix now and then; what remains is bounded by the messages in flight.
    if (this.#head > 1_024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
