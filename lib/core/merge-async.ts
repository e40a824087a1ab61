/**
 * Interleaves async iterables, taking from whichever has a value first; each source fetches its
 * next value while the others are consumed. Sources may be added while the merge runs (a range
 * split in pieces lists them beside the others). `values` yields `[source index, value]` and
 * stops early, closing every source, when `signal` aborts.
 */
export class AsyncMerge<T> {
  readonly #iterators: AsyncIterator<T>[] = [];
  readonly #pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();

  /** Adds a source; returns its index. */
  add(source: AsyncIterable<T>): number {
    const index = this.#iterators.push(source[Symbol.asyncIterator]()) - 1;
    this.#pull(index);
    return index;
  }

  /** Sources still being read. */
  get active(): number {
    return this.#pending.size;
  }

  async *values(signal?: AbortSignal): AsyncGenerator<[number, T]> {
    const aborted = new Promise<undefined>((resolve) => {
      if (signal?.aborted) resolve(undefined);
      signal?.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    try {
      while (this.#pending.size > 0) {
        const next = await Promise.race([...this.#pending.values(), aborted]);
        if (next === undefined || signal?.aborted) return;
        if (next.result.done) {
          this.#pending.delete(next.index);
          continue;
        }
        this.#pull(next.index);
        yield [next.index, next.result.value];
      }
    } finally {
      // Values already fetched but not yielded are dropped: their sources resume before them.
      for (const index of this.#pending.keys()) {
        this.#pending.get(index)?.catch(() => {});
        void this.#iterators[index]?.return?.();
      }
    }
  }

  #pull(index: number): void {
    const iterator = this.#iterators[index] as AsyncIterator<T>;
    this.#pending.set(
      index,
      iterator.next().then((result) => ({ index, result })),
    );
  }
}

/** The sources given, interleaved (see `AsyncMerge`). */
export function mergeAsync<T>(sources: AsyncIterable<T>[], signal?: AbortSignal): AsyncGenerator<[number, T]> {
  const merge = new AsyncMerge<T>();
  for (const source of sources) merge.add(source);
  return merge.values(signal);
}
