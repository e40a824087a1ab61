import type { _Object } from '@aws-sdk/client-s3';
import { AsyncMerge } from '../core/merge-async.ts';
import { compareUtf8 } from '../core/utf8-order.ts';
import type { RunStats } from '../core/run-stats.ts';
import type { MessageField, ObjectDetails, ObjectRef } from '../core/types.ts';
import type { PipelineContext } from '../publish/pipeline.ts';
import { type KeyRange, splitPoints } from './key-ranges.ts';
import { type HandedKey, KeyWatermark } from './key-watermark.ts';
import { listKeyRange } from './range-listing.ts';

interface RangeProgress {
  /** Its end moves down when the range is split: its listing then stops at the new end. */
  range: KeyRange;
  /** How far the range is settled: a continuation lists it again after `settledThrough`. */
  mark: KeyWatermark;
  /** Listed to its end. */
  done: boolean;
  /** At least one key of the range was listed. */
  hadKeys: boolean;
  /** The last key of the page before the one being read: where the next page's keys left off. */
  listedUpTo?: string;
}

/** A page of this many keys says the range goes on: its rest is split while there is room. */
const FULL_PAGE = 1_000;
/** Ranges listed at once by one process, unless told otherwise. */
export const DEFAULT_RANGES_IN_FLIGHT = 32;

/**
 * Where a listing of one range hands the pieces it splits off when they are listed elsewhere (by
 * other workers): `room()` says how many pieces it may make now, `points` where to cut the rest
 * of the range after a full page, and `handOff` records and queues the pieces before the range's
 * own end moves down to the first of them.
 */
export interface SplitHandOff {
  room(): number;
  points(last: string, end: string | undefined, most: number): Promise<string[]>;
  handOff(pieces: KeyRange[]): Promise<void>;
}

/** A listed object on its way to the publisher, with its place in its range's watermark. */
export interface ListedObject extends ObjectRef {
  readonly mark: KeyWatermark;
  readonly handed: HandedKey;
}

/**
 * The key ranges of a backfill listed in parallel and merged page by page into batches of
 * objects, and how far each range got. A range whose page comes back full is split where its keys
 * vary (`splitPoints`): it goes on to the first point, and each piece after it becomes a range of
 * its own, listed beside it, up to `rangesInFlight` at once; so the listing spreads over the
 * bucket whatever its keys look like. When `signal` aborts, listing stops between two keys, once
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
  /** Every range, in key order: the pieces of a split follow the range they came from. */
  readonly #progress: RangeProgress[];
  readonly #merge = new AsyncMerge<_Object[]>();
  /** The merge's source index → the range it lists. */
  readonly #sources = new Map<number, RangeProgress>();
  readonly #rangesInFlight: number;
  readonly #stop = new AbortController();
  readonly #signal: AbortSignal | undefined;
  readonly #handOff: SplitHandOff | undefined;
  #listed = 0;
  #handedOff = 0;

  constructor(
    where: {
      bucket: string;
      prefix: string;
      ranges: KeyRange[];
      modifiedSince?: Date;
      rangesInFlight?: number;
      handOff?: SplitHandOff;
      /** Keys of the first range settled by earlier runs, up to its start. */
      settledKeys?: number;
    },
    context: PipelineContext,
    stats: RunStats,
    signal?: AbortSignal,
  ) {
    this.#bucket = where.bucket;
    this.#prefix = where.prefix;
    this.#context = context;
    this.#stats = stats;
    this.#since = where.modifiedSince?.getTime();
    this.#rangesInFlight = where.rangesInFlight ?? DEFAULT_RANGES_IN_FLIGHT;
    this.#progress = where.ranges.map((range, index) => this.#entry({ ...range }, index === 0 ? where.settledKeys : 0));
    this.#signal = signal;
    this.#handOff = where.handOff;
    signal?.addEventListener('abort', () => this.#stopIfDue(), { once: true });
  }

  /** Ranges listed by this run: those it was given, and the pieces its splits made. */
  get ranges(): number {
    return this.#progress.length;
  }

  /** Pieces handed off to be listed elsewhere. */
  get handedOff(): number {
    return this.#handedOff;
  }

  /** The last key of the first range settled with every key before it: where a listing of one range resumes. */
  get settledThrough(): string | undefined {
    return this.#progress[0]?.mark.settledThrough;
  }

  /** Keys of the first range settled through `settledThrough`, those of earlier runs included. */
  get settledKeys(): number {
    return this.#progress[0]?.mark.settledKeys ?? 0;
  }

  /** Ranges in which this run listed at least one key. */
  get rangesWithKeys(): number {
    return this.#progress.filter((entry) => entry.hadKeys).length;
  }

  /** The objects listed, a page's worth at a time, up to a stop. */
  async *objects(): AsyncGenerator<ListedObject[]> {
    const stop = this.#stop.signal;
    for (const entry of this.#progress) this.#list(entry);
    for await (const [index, page] of this.#merge.values(stop)) {
      const entry = this.#sources.get(index) as RangeProgress;
      const batch: ListedObject[] = [];
      // A page fetched before its range was split may reach past the range's new end.
      const end = entry.range.end;
      const objects = end === undefined ? page : page.filter((object) => compareUtf8(object.Key ?? '', end) <= 0);
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
      if (objects.length === FULL_PAGE && !stop.aborted) await this.#split(entry, objects);
      entry.listedUpTo = objects.at(-1)?.Key ?? entry.listedUpTo;
      yield batch;
    }
  }

  /**
   * The rest of a range that goes on after a full page, cut in pieces while there is room for
   * them: listed here beside it, or handed off.
   */
  async #split(entry: RangeProgress, page: _Object[]): Promise<void> {
    const room = this.#handOff ? this.#handOff.room() : this.#rangesInFlight - this.#merge.active;
    if (room <= 0) return;
    const last = page.at(-1)?.Key ?? '';
    const points = this.#handOff
      ? await this.#handOff.points(last, entry.range.end, room)
      : splitPoints(entry.listedUpTo ?? entry.range.startAfter ?? '', page[0]?.Key ?? '', last, entry.range.end, room);
    if (points.length === 0) return;
    const ranges = points.map((point, index): KeyRange => ({ startAfter: point, ...this.#endAfter(points, index, entry.range.end) }));
    if (this.#handOff) {
      await this.#handOff.handOff(ranges);
      this.#handedOff += ranges.length;
      entry.range.end = points[0];
      return;
    }
    const pieces = ranges.map((range) => this.#entry(range));
    entry.range.end = points[0];
    this.#progress.splice(this.#progress.indexOf(entry) + 1, 0, ...pieces);
    for (const piece of pieces) this.#list(piece);
  }

  /** The end of the piece after `points[index]`: the next point, or the range's own end. */
  #endAfter(points: string[], index: number, end: string | undefined): { end?: string } {
    const next = points[index + 1] ?? end;
    return next === undefined ? {} : { end: next };
  }

  #entry(range: KeyRange, settledKeys = 0): RangeProgress {
    return { range, mark: new KeyWatermark(range.startAfter, settledKeys), done: false, hadKeys: false };
  }

  #list(entry: RangeProgress): void {
    this.#sources.set(this.#merge.add(this.#rangePages(entry)), entry);
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
    entry.hadKeys = true;
    this.#stats.rowsRead += 1;
    this.#listed += 1;
    // This key is handed over or skipped either way; the next one waits for the continuation.
    this.#stopIfDue();
    if (this.#since !== undefined && (object.LastModified?.getTime() ?? 0) < this.#since) {
      this.#stats.skip('unchanged');
      entry.mark.pass(key);
      return undefined;
    }
    const fields = this.#context.config.readFields;
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
