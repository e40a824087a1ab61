/**
 * A value built on first use and kept, as Lambda containers keep clients between invocations. A
 * failed build is not kept: the next call tries again.
 */
export function lazy<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}
