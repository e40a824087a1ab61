import { ConfigError } from '../core/errors.ts';
import { checkListable } from '../core/listing.ts';
import { RunStats, type StatsSummary } from '../core/run-stats.ts';
import type { MessageField } from '../core/types.ts';
import { publishAll, requireAllPublished, type PipelineContext } from '../publish/pipeline.ts';
import { splitKeySpace, type KeyRange } from './key-ranges.ts';
import { RangedListing } from './ranged-listing.ts';

/** Where a stopped backfill resumes: the ranges not settled, each after its last key settled with all before it. */
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
  /** Key ranges listed by this run: those it started with, and the pieces its splits made. */
  ranges: number;
  /** The ranges in which it listed at least one key. */
  rangesWithKeys: number;
  /** Every key of the bucket (or prefix) has been published. */
  done: boolean;
  /** Present when not done: pass it back to continue. */
  continuation?: BackfillContinuation;
}

/**
 * Publishes one message per object of a bucket from ListObjectsV2: the key space is split into
 * ranges listed in parallel, merged into the one publishing path. When `signal` aborts (the time
 * budget is spent), listing stops, the batches in flight settle, and the summary carries a
 * continuation that resumes every unsettled range after its last key settled with every key
 * before it: no key skipped, none repeated after a clean stop. After a failed key, the keys
 * published past it in its range are sent again by the continuation (a FIFO queue drops repeats
 * within five minutes). A run gets past at least one key before it stops, so chained runs end.
 */
export async function backfillBucket(
  request: BackfillRequest,
  context: PipelineContext,
  stats = new RunStats(),
  signal?: AbortSignal,
): Promise<BackfillSummary> {
  const { bucket } = request;
  const prefix = request.continuation?.prefix ?? request.prefix ?? '';
  requireListableFields(context.config.messageFields);
  await checkListable(context.s3, bucket, prefix);
  const ranges = request.continuation?.ranges ?? splitKeySpace(prefix);
  const where = { bucket, prefix, ranges, ...(request.modifiedSince && { modifiedSince: request.modifiedSince }) };
  const listing = new RangedListing(where, context, stats, signal);
  let failure: unknown;
  try {
    await publishAll(listing.objects(), context, stats, (object, published) => listing.settle(object, published));
  } catch (error) {
    failure = error;
  }
  const remaining = listing.remaining();
  const summary: BackfillSummary = {
    bucket,
    prefix,
    ranges: listing.ranges,
    rangesWithKeys: listing.rangesWithKeys,
    done: remaining.length === 0,
    ...(remaining.length > 0 && { continuation: { bucket, prefix, ranges: remaining } }),
    ...stats.toJSON(),
  };
  return requireAllPublished(`backfill of s3://${bucket}/${prefix}`, summary, failure);
}

/** A listing has no version ids: a backfill that must publish them is refused before it lists. */
export function requireListableFields(fields: readonly MessageField[]): void {
  if (fields.includes('versionId')) {
    throw new ConfigError(
      'MESSAGE_FIELDS versionId: a bucket listing (ListObjectsV2) has no version ids; publish from an inventory report of all versions instead',
    );
  }
}
