import { compareUtf8 } from '../core/utf8-order.ts';

/** What fauxqs's S3 store keeps of an object: the listing needs only its key. */
interface StoredObject {
  key: string;
}

interface ListOptions {
  prefix?: string;
  delimiter?: string;
  maxKeys?: number;
  startAfter?: string;
  marker?: string;
}

interface Listing {
  objects: StoredObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
}

interface S3StoreLike {
  listObjects(bucket: string, options?: ListOptions): Listing;
}

/**
 * A bucket's objects, with their keys kept sorted in S3's order: sorted once, then a new key is
 * put in its place (a binary search and one move), so that writes between listings, as a run's
 * state makes them, do not sort the bucket again each time.
 */
class IndexedObjects extends Map<string, StoredObject> {
  #sorted: string[] | undefined;

  override set(key: string, value: StoredObject): this {
    if (this.#sorted && !this.has(key)) this.#sorted.splice(firstAtOrAbove(this.#sorted, key), 0, key);
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    if (this.#sorted && this.has(key)) this.#sorted.splice(firstAtOrAbove(this.#sorted, key), 1);
    return super.delete(key);
  }

  override clear(): void {
    this.#sorted = undefined;
    super.clear();
  }

  sortedKeys(): string[] {
    this.#sorted ??= [...this.keys()].sort(compareUtf8);
    return this.#sorted;
  }
}

/**
 * The emulator's S3 store, listing as S3 does: keys in UTF-8 byte order, each page found by binary
 * search in an index kept in order as the bucket changes. fauxqs 2.4.1 sorts the whole bucket on every
 * ListObjectsV2 call, in locale order ("a" before "B"): a listing of 50,000 keys then costs the
 * emulator 50 sorts of 50,000 keys, and a lister that stops at the end of its range misses keys.
 */
// biome-ignore lint/suspicious/noExplicitAny: TypeScript requires a mixin's constructor to take `any[]`.
export function indexedS3Store<T extends new (...args: any[]) => S3StoreLike>(S3Store: T): T {
  return class IndexedS3Store extends S3Store {
    override listObjects(bucket: string, options: ListOptions = {}): Listing {
      const buckets = (this as unknown as { buckets: Map<string, Map<string, StoredObject>> }).buckets;
      let objects = buckets.get(bucket);
      if (!objects) return super.listObjects(bucket, options);
      if (!(objects instanceof IndexedObjects)) {
        const indexed = new IndexedObjects();
        for (const [key, object] of objects) indexed.set(key, object);
        buckets.set(bucket, indexed);
        objects = indexed;
      }
      return listSorted(objects as IndexedObjects, options);
    }
  };
}

function listSorted(objects: IndexedObjects, options: ListOptions): Listing {
  const keys = objects.sortedKeys();
  const prefix = options.prefix ?? '';
  const startAfter = options.startAfter || options.marker || '';
  const maxKeys = options.maxKeys ?? 1_000;
  const listing: Listing = { objects: [], commonPrefixes: [], isTruncated: false };
  let count = 0;
  for (let index = Math.max(firstAtOrAbove(keys, prefix), firstAbove(keys, startAfter)); index < keys.length; index += 1) {
    const key = keys[index] as string;
    // Keys sharing a prefix are contiguous in sorted order: past them, the listing is done.
    if (!key.startsWith(prefix)) break;
    const at = options.delimiter ? key.indexOf(options.delimiter, prefix.length) : -1;
    const common = at === -1 ? undefined : key.slice(0, at + (options.delimiter ?? '').length);
    if (common !== undefined && (common === listing.commonPrefixes.at(-1) || compareUtf8(common, startAfter) <= 0)) continue;
    if (count === maxKeys) {
      listing.isTruncated = true;
      break;
    }
    if (common !== undefined) listing.commonPrefixes.push(common);
    else listing.objects.push(objects.get(key) as StoredObject);
    count += 1;
  }
  return listing;
}

/** Index of the first key not below `bound`. */
function firstAtOrAbove(keys: string[], bound: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareUtf8(keys[middle] as string, bound) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Index of the first key above `bound` (all keys when `bound` is empty). */
function firstAbove(keys: string[], bound: string): number {
  if (bound === '') return 0;
  const index = firstAtOrAbove(keys, bound);
  return keys[index] === bound ? index + 1 : index;
}
