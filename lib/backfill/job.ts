import { listKeyRange } from './range-listing.ts';
import { splitKeySpace, type KeyRange } from './key-ranges.ts';
import { mergeAsync } from '../core/merge-async.ts';
import { publishAll, requireAllPublished, type PipelineContext } from '../publish/pipeline.ts';
import { RunStats, type StatsSummary } from '../core/run-stats.ts';
import type { _Object } from '@aws-sdk/client-s3';
import { ConfigError } from '../core/errors.ts';
import type { MessageField, ObjectDetails, ObjectRef } from '../core/types.ts';

/** Where a stopped backfill resumes: the ranges not finished, each from its last published key. */
export interface BackfillContinuation {
  bucket: string;
  prefix: string;
  ranges: KeyRange[];
}

export interface BackfillRequest {
  bucket: string;
  /** Only keys under this prefix. */
  prefix?: string;
  /** Resume a stopped run; its bucket and prefix apply. */
  continuation?: BackfillContinuation;
  /** Only objects modified at or after this time; the others are skipped as `unchanged`. */
  modifiedSince?: Date;
}

export interface BackfillSummary extends StatsSummary {
  bucket: string;
  prefix: string;
  /** Key ranges listed in parallel by this run. */
  ranges: number;
  /** Every key of the bucket (or prefix) has been published. */
  done: boolean;
  /** Present when not done: pass it back to continue. */
  continuation?: BackfillContinuation;
}

interface RangeProgress {
  range: KeyRange;
  lastKey?: string;
  done: boolean;
}

/**
 * Publishes one message per object of a bucket from ListObjectsV2: the key space is split into
 * ranges listed in parallel, merged into the one publishing path. When `signal` aborts (the time
 * budget is spent), listing stops, the batches in flight settle, and the summary carries a
 * continuation that resumes every unfinished range after its last published key: no key skipped,
 * none repeated. A run gets past at least one key before it stops, so chained runs always end.
 */
export async function backfillBucket(
  request: BackfillRequest,
  context: PipelineContext,
  stats = new RunStats(),
  signal?: AbortSignal,
): Promise<BackfillSummary> {
  const { bucket } = request;
  const prefix = request.continuation?.prefix ?? request.prefix ?? '';
  const progress: RangeProgress[] = (request.continuation?.ranges ?? splitKeySpace(prefix)).map((range) => ({
    range,
    done: false,
  }));

  const fields = context.config.messageFields;
  if (fields.includes('versionId')) {
    throw new ConfigError(
      'MESSAGE_FIELDS versionId: a bucket listing (ListObjectsV2) has no version ids; publish from an inventory report of all versions instead',
    );
  }
  const since = request.modifiedSince?.getTime();

  async function* rangePages(entry: RangeProgress): AsyncGenerator<_Object[]> {
    yield* listKeyRange(context.s3, bucket, prefix, entry.range);
    // A range listed to its end after the stop may still have keys that were never handed over
    // (its last page was fetched ahead): the continuation lists it again from its last key.
    if (!stop.signal.aborted) entry.done = true;
  }
  // The budget is honoured once this run has got past a key (published, or skipped as unchanged),
  // so that every run of a chain makes progress, whatever its budget.
  const stop = new AbortController();
  let listed = 0;
  const stopIfDue = () => {
    if (signal?.aborted && listed > 0) stop.abort();
  };
  signal?.addEventListener('abort', stopIfDue, { once: true });
  // Ranges are merged page by page; a page's keys are handed over together, up to a stop, which
  // falls between two keys.
  async function* objects(): AsyncGenerator<ObjectRef[]> {
    for await (const [index, objects] of mergeAsync(progress.map(rangePages), stop.signal)) {
      const entry = progress[index] as RangeProgress;
      const batch: ObjectRef[] = [];
      for (const object of objects) {
        if (stop.signal.aborted) {
          // The rest of this page is listed again by the continuation.
          entry.done = false;
          yield batch;
          return;
        }
        const key = object.Key ?? '';
        // Recorded before the key is handed over: publishAll publishes every key it receives.
        entry.lastKey = key;
        stats.rowsRead += 1;
        listed += 1;
        // This key is handed over or skipped either way; the next one waits for the continuation.
        stopIfDue();
        if (since !== undefined && (object.LastModified?.getTime() ?? 0) < since) {
          stats.skip('unchanged');
          continue;
        }
        batch.push(fields.length === 0 ? { bucket, key } : { bucket, key, details: listedDetails(object, fields) });
      }
      yield batch;
    }
  }

  let failure: unknown;
  try {
    await publishAll(objects(), context, stats);
  } catch (error) {
    failure = error;
  }
  const remaining = progress
    .filter((entry) => !entry.done)
    .map(({ range, lastKey }) => ({ ...range, ...(lastKey !== undefined && { startAfter: lastKey }) }));
  const summary: BackfillSummary = {
    bucket,
    prefix,
    ranges: progress.length,
    done: remaining.length === 0,
    ...(remaining.length > 0 && { continuation: { bucket, prefix, ranges: remaining } }),
    ...stats.toJSON(),
  };
  return requireAllPublished(`backfill of s3://${bucket}/${prefix}`, summary, failure);
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
