import type { _Object } from '@aws-sdk/client-s3';
import { mergeAsync } from '../core/merge-async.ts';
import type { RunStats } from '../core/run-stats.ts';
import type { MessageField, ObjectDetails, ObjectRef } from '../core/types.ts';
import type { PipelineContext } from '../publish/pipeline.ts';
import type { KeyRange } from './key-ranges.ts';
import { type HandedKey, KeyWatermark } from './key-watermark.ts';
import { listKeyRange } from './range-listing.ts';

interface RangeProgress {
  range: KeyRange;
  /** How far the range is settled: a continuation lists it again after `settledThrough`. */
  mark: KeyWatermark;
  /** Listed to its end. */
  done: boolean;
}

/** A listed object on its way to the publisher, with its place in its range's watermark. */
export interface ListedObject extends ObjectRef {
  readonly mark: KeyWatermark;
  readonly handed: HandedKey;
}

/**
 * The key ranges of a backfill listed in parallel and merged page by page into batches of
 * objects, and how far each range got. When `signal` aborts, listing stops between two keys, once
 * this run has got past one (published, or skipped as unchanged), so that every run of a chain
 * makes progress whatever its budget; `remaining()` then gives each range not settled to its end
 * from the last key before the first one not published: a failed key is listed again, never skipped.
 */
export class RangedListing {
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #context: PipelineContext;
  readonly #stats: RunStats;
  readonly #since: number | undefined;
  readonly #progress: RangeProgress[];
  readonly #stop = new AbortController();
  readonly #signal: AbortSignal | undefined;
  #listed = 0;

  constructor(
    where: { bucket: string; prefix: string; ranges: KeyRange[]; modifiedSince?: Date },
    context: PipelineContext,
    stats: RunStats,
    signal?: AbortSignal,
  ) {
    this.#bucket = where.bucket;
    this.#prefix = where.prefix;
    this.#context = context;
    this.#stats = stats;
    this.#since = where.modifiedSince?.getTime();
    this.#progress = where.ranges.map((range) => ({ range, mark: new KeyWatermark(range.startAfter), done: false }));
    this.#signal = signal;
    signal?.addEventListener('abort', () => this.#stopIfDue(), { once: true });
  }

  get ranges(): number {
    return this.#progress.length;
  }

  /** The objects listed, a page's worth at a time, up to a stop. */
  async *objects(): AsyncGenerator<ListedObject[]> {
    const stop = this.#stop.signal;
    for await (const [index, objects] of mergeAsync(
      this.#progress.map((entry) => this.#rangePages(entry)),
      stop,
    )) {
      const entry = this.#progress[index] as RangeProgress;
      const batch: ListedObject[] = [];
      for (const object of objects) {
        if (stop.aborted) {
          // The rest of this page is listed again by the continuation.
          entry.done = false;
          yield batch;
          return;
        }
        const listed = this.#take(entry, object);
        if (listed) batch.push(listed);
      }
      yield batch;
    }
  }

  /** The publisher is done with `object`: published or skipped (`published`), or failed. */
  settle(object: ListedObject, published: boolean): void {
    object.mark.settle(object.handed, published);
  }

  /** The ranges not settled to their end, each after its last key settled with all before it. */
  remaining(): KeyRange[] {
    return this.#progress
      .filter(({ done, mark }) => !done || !mark.settled)
      .map(({ range, mark }) => {
        const { startAfter: _, ...bounds } = range;
        const startAfter = mark.settledThrough;
        return { ...bounds, ...(startAfter !== undefined && { startAfter }) };
      });
  }

  async *#rangePages(entry: RangeProgress): AsyncGenerator<_Object[]> {
    yield* listKeyRange(this.#context.s3, this.#bucket, this.#prefix, entry.range);
    // A range listed to its end after the stop may still have keys that were never handed over
    // (its last page was fetched ahead): the continuation lists it again from its last key.
    if (!this.#stop.signal.aborted) entry.done = true;
  }

  /** One listed object: the object to publish, or undefined when it is skipped as unchanged. */
  #take(entry: RangeProgress, object: _Object): ListedObject | undefined {
    const key = object.Key ?? '';
    this.#stats.rowsRead += 1;
    this.#listed += 1;
    // This key is handed over or skipped either way; the next one waits for the continuation.
    this.#stopIfDue();
    if (this.#since !== undefined && (object.LastModified?.getTime() ?? 0) < this.#since) {
      this.#stats.skip('unchanged');
      entry.mark.pass(key);
      return undefined;
    }
    const fields = this.#context.config.messageFields;
    const listed = { bucket: this.#bucket, key, mark: entry.mark, handed: entry.mark.hand(key) };
    return fields.length === 0 ? listed : { ...listed, details: listedDetails(object, fields) };
  }

  #stopIfDue(): void {
    if (this.#signal?.aborted && this.#listed > 0) this.#stop.abort();
  }
}

/** The optional fields a listing knows of an object, typed as messages carry them. */
function listedDetails(object: _Object, fields: readonly MessageField[]): ObjectDetails {
  const details: ObjectDetails = {};
  if (fields.includes('size') && object.Size !== undefined) details.size = object.Size;
  if (fields.includes('etag') && object.ETag !== undefined) details.etag = object.ETag.replaceAll('"', '');
  if (fields.includes('lastModified') && object.LastModified !== undefined) details.lastModified = object.LastModified.toISOString();
  if (fields.includes('storageClass')) details.storageClass = object.StorageClass ?? 'STANDARD';
  return details;
}
