import { listKeyRange } from './range-listing.ts';
import { splitKeySpace, type KeyRange } from './key-ranges.ts';
import { mergeAsync } from '../core/merge-async.ts';
import { publishAll, requireAllPublished, type PipelineContext } from '../publish/pipeline.ts';
import { RunStats, type StatsSummary } from '../core/run-stats.ts';
import type { ObjectRef } from '../core/types.ts';

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
 * none repeated. A run publishes at least one key before it stops, so chained runs always end.
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

  async function* rangePages(entry: RangeProgress): AsyncGenerator<string[]> {
    yield* listKeyRange(context.s3, bucket, prefix, entry.range);
    entry.done = true;
  }
  // The budget is honoured once this run has published a key, so that every run of a chain makes
  // progress, whatever its budget.
  const stop = new AbortController();
  let listed = 0;
  const stopIfDue = () => {
    if (signal?.aborted && listed > 0) stop.abort();
  };
  signal?.addEventListener('abort', stopIfDue, { once: true });
  // Ranges are merged page by page; keys are handed over one by one, so a stop falls between two.
  async function* objects(): AsyncGenerator<ObjectRef> {
    for await (const [index, keys] of mergeAsync(progress.map(rangePages), stop.signal)) {
      const entry = progress[index] as RangeProgress;
      for (const key of keys) {
        if (stop.signal.aborted) {
          // The rest of this page is listed again by the continuation.
          entry.done = false;
          return;
        }
        // Recorded before the key is handed over: publishAll publishes every key it receives.
        entry.lastKey = key;
        stats.rowsRead += 1;
        listed += 1;
        yield { bucket, key };
        stopIfDue();
      }
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
