/**
 * Interleaves several async iterables, taking from whichever has a value first; each source
 * fetches its next value while the others are consumed. Yields `[source index, value]`. Stops
 * early, closing every source, when `signal` aborts.
 */
export async function* mergeAsync<T>(sources: AsyncIterable<T>[], signal?: AbortSignal): AsyncGenerator<[number, T]> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  type Next = { index: number; result: IteratorResult<T> };
  const pending = new Map<number, Promise<Next>>();
  const pull = (index: number) => {
    const iterator = iterators[index] as AsyncIterator<T>;
    pending.set(
      index,
      iterator.next().then((result) => ({ index, result })),
    );
  };
  for (let index = 0; index < iterators.length; index += 1) pull(index);
  const aborted = new Promise<undefined>((resolve) => {
    if (signal?.aborted) resolve(undefined);
    signal?.addEventListener('abort', () => resolve(undefined), { once: true });
  });
  try {
    while (pending.size > 0) {
      const next = await Promise.race([...pending.values(), aborted]);
      if (next === undefined || signal?.aborted) return;
      if (next.result.done) {
        pending.delete(next.index);
        continue;
      }
      pull(next.index);
      yield [next.index, next.result.value];
    }
  } finally {
    // Values already fetched but not yielded are dropped: their sources resume before them.
    for (const index of pending.keys()) {
      pending.get(index)?.catch(() => {});
      void iterators[index]?.return?.();
    }
  }
}
