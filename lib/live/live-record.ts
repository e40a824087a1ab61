import { hash } from 'node:crypto';
import type { ObjectRef } from '../core/types.ts';

/**
 * What the live path published, kept compact: for each message, 8 bytes of the SHA-256 of
 * `bucket`, `key` and the object's ETag (what an event and a report both give), in one S3 object
 * per invocation. The next report's run reads those of its window into one sorted array and skips the
 * rows whose hash it holds: the object was published live as it is now. 8 bytes per key: a
 * million live keys are 8 MB to read, about 1 in 2^40 chance that some other row shares a hash in
 * a window of a million (that row would be skipped: the bound documented in docs/design.md).
 */
export function recordHash(bucket: string, key: string, etag: string): bigint {
  // Hex and BigInt: half the CPU of a Buffer digest (measured), which allocates a Buffer per key.
  return BigInt(`0x${hash('sha256', `${bucket}\n${key}\n${etag}`, 'hex').slice(0, 16)}`);
}

/**
 * The batches of a report's rows less those the live path published as they are now (the same
 * ETag): each one is passed to `onPublishedLive` instead, to be counted and settled.
 */
export async function* withoutPublishedLive<T extends ObjectRef>(
  batches: AsyncIterable<readonly T[]>,
  published: LiveRecordSet,
  onPublishedLive: (object: T) => void,
): AsyncGenerator<T[]> {
  for await (const batch of batches) {
    const kept: T[] = [];
    for (const object of batch) {
      const etag = object.details?.etag;
      if (etag !== undefined && published.has(recordHash(object.bucket, object.key, etag))) onPublishedLive(object);
      else kept.push(object);
    }
    yield kept;
  }
}

/** The write a live message stands for, for its FIFO deduplication id: the version id when the bucket is versioned, else the ETag. */
export function revisionOf(details: { versionId?: string | undefined; etag?: string | undefined }): string | undefined {
  return details.versionId && details.versionId !== 'null' ? `v:${details.versionId}` : details.etag ? `e:${details.etag}` : undefined;
}

/** The bytes of one record object: the hashes, 8 bytes each, big-endian. */
export function encodeRecord(hashes: readonly bigint[]): Buffer {
  const bytes = Buffer.alloc(hashes.length * 8);
  for (let index = 0; index < hashes.length; index += 1) bytes.writeBigUInt64BE(hashes[index] as bigint, index * 8);
  return bytes;
}

/**
 * The hashes of several record objects as one sorted set, read one object at a time into a
 * buffer of at most `bound` hashes: past it, `overBound` says so and the set is not to be used
 * (the run then publishes every changed key: duplicates, never a miss).
 */
export class LiveRecordSet {
  readonly #bound: number;
  #hashes: BigUint64Array;
  #size = 0;
  #sorted = true;
  overBound = false;

  constructor(bound: number) {
    this.#bound = bound;
    this.#hashes = new BigUint64Array(Math.min(bound, 1_024));
  }

  get size(): number {
    return this.#size;
  }

  /** Adds one record object's bytes; a length not a multiple of 8 is a record not ours. */
  add(bytes: Uint8Array, name: string): void {
    if (bytes.byteLength % 8 !== 0) throw new Error(`live record ${name} has ${bytes.byteLength} bytes, not a multiple of 8`);
    const count = bytes.byteLength / 8;
    if (this.overBound || this.#size + count > this.#bound) {
      this.overBound = true;
      return;
    }
    this.#grow(this.#size + count);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let index = 0; index < count; index += 1) this.#hashes[this.#size + index] = view.getBigUint64(index * 8);
    this.#size += count;
    this.#sorted = false;
  }

  has(hash: bigint): boolean {
    if (!this.#sorted) this.#sort();
    let low = 0;
    let high = this.#size - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.#hashes[middle] as bigint;
      if (value === hash) return true;
      if (value < hash) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }

  /** The set's hashes, sorted, as one record object's bytes (the run's compacted copy). */
  toBytes(): Buffer {
    if (!this.#sorted) this.#sort();
    return encodeRecord(Array.from(this.#hashes.subarray(0, this.#size)));
  }

  #grow(needed: number): void {
    if (needed <= this.#hashes.length) return;
    const grown = new BigUint64Array(Math.min(this.#bound, Math.max(needed, this.#hashes.length * 2)));
    grown.set(this.#hashes.subarray(0, this.#size));
    this.#hashes = grown;
  }

  #sort(): void {
    this.#hashes.subarray(0, this.#size).sort();
    this.#sorted = true;
  }
}
