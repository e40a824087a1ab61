/**
 * Bytes of the blocks (row groups, stripes) fetched ahead of the one being decoded. Against a
 * store that answers in milliseconds, one block ahead leaves the decoder waiting on every round
 * trip; a few megabytes ahead keep it busy, and memory stays bounded whatever the file's size.
 */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/**
 * The fetched blocks, in order. Fetches start ahead of their use while the blocks fetched and not
 * yet used weigh under `budget` bytes, and always at least the next one: memory holds the block
 * being used plus at most `budget` (or the one next block, when it alone is larger).
 */
export async function* readAhead<Block, Fetched>(
  blocks: readonly Block[],
  fetch: (block: Block) => Promise<Fetched>,
  weight: (block: Block) => number,
  budget = READ_AHEAD_BYTES,
): AsyncGenerator<Fetched> {
  const pending: Array<{ bytes: number; fetched: Promise<Fetched> }> = [];
  let next = 0;
  let held = 0;
  const fill = () => {
    while (next < blocks.length) {
      const block = blocks[next] as Block;
      const bytes = weight(block);
      if (pending.length > 0 && held + bytes > budget) return;
      held += bytes;
      next += 1;
      pending.push({ bytes, fetched: quietly(fetch(block)) });
    }
  };
  fill();
  while (pending.length > 0) {
    const head = pending.shift() as (typeof pending)[number];
    fill();
    yield await head.fetched;
    held -= head.bytes;
    fill();
  }
}

/** A promise whose failure is reported where it is awaited, not as unhandled when the read stops first. */
function quietly<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
