import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import PQueue from 'p-queue';
import { httpStatusOf, isNoSuchKey } from '../core/aws-errors.ts';
import { type Environment, listOf, loadSelection } from '../core/config.ts';
import { RunStats } from '../core/run-stats.ts';
import type { ObjectRef } from '../core/types.ts';
import { type PipelineContext, publishAll } from '../publish/pipeline.ts';
import { type LiveEvent, latestPerKey, liveEventsOf } from './live-events.ts';
import { encodeRecord, recordHash } from './live-record.ts';
import { type LiveRecordStore, liveRecordStoreFromEnvironment, recordHour } from './live-window.ts';

/** Which events the live path publishes, and where it records what it published. */
export interface LiveSettings {
  /** Buckets whose events are published; empty: none. */
  sourceBuckets: string[];
  /** The stack's own buckets (reports, run state): never published, whatever a rule lets through. */
  ownBuckets: string[];
  /** Where each invocation writes its record: `<prefix><source bucket>/<YYYY-MM-DD>/<HH>/<time>-<id>.bin`; none, no record. */
  record?: LiveRecordStore;
  /** How the objects reach the publisher: `publishAll` unless told (the function shares a rate cap). */
  publish?: LivePublish;
}

/** `publishAll`'s shape: a batch's objects, in chunks, to the one publishing path. */
export type LivePublish = <T extends ObjectRef>(
  keys: AsyncIterable<readonly T[]>,
  context: PipelineContext,
  stats: RunStats,
  onSettled: (object: T, done: boolean) => void,
) => Promise<void>;

/** `LIVE_SOURCE_BUCKETS` (default `SOURCE_BUCKET`), the own buckets, `RUN_STATE_BUCKET` and `LIVE_RECORD_PREFIX`. */
export function liveSettingsFromEnvironment(env: Environment): LiveSettings {
  const sourceBuckets = listOf(env, 'LIVE_SOURCE_BUCKETS');
  const record = liveRecordStoreFromEnvironment(env);
  return {
    sourceBuckets: sourceBuckets.length > 0 ? sourceBuckets : listOf(env, 'SOURCE_BUCKET'),
    ownBuckets: [env.RUN_STATE_BUCKET?.trim() ?? '', ...listOf(env, 'OWN_BUCKETS')].filter(Boolean),
    ...(record && { record }),
  };
}

/**
 * What live publishing cannot give: an S3 event carries the size, ETag, version id and time of
 * the object written, not its storage class. A message field or a filter that needs it is refused
 * (at package time, and by the function at start), rather than published without it.
 */
export function liveSelectionProblem(env: Environment): string | undefined {
  const { messageFields, filter } = loadSelection(env);
  const needs = [
    ...(messageFields.includes('storageClass') ? ['MESSAGE_FIELDS storageClass'] : []),
    ...(filter.storageClassInclude?.length ? ['STORAGE_CLASS_INCLUDE'] : []),
    ...(filter.storageClassExclude?.length ? ['STORAGE_CLASS_EXCLUDE'] : []),
  ];
  return needs.length === 0
    ? undefined
    : `${needs.join(', ')}: an S3 event carries no storage class, so live publishing cannot give or filter on it; turn live off, or drop ${needs.length === 1 ? 'it' : 'them'}`;
}

export interface LiveOutcome extends SQSBatchResponse {
  published: number;
  /** Events of buckets not accepted, or of the stack's own. */
  refused: number;
  /** Records that held no object written. */
  ignored: number;
  /** Older events of a key a later event of the same batch superseded. */
  superseded: number;
  /** Objects not handed to the publisher before the deadline: their records go back to the queue. */
  deferred: number;
  /** From the object's write to its message's send, ms. */
  lagMsP50?: number;
  lagMsP99?: number;
  /** Hashes written to the live record. */
  recorded: number;
}

/**
 * One batch of the buffer queue: its events read (EventBridge's or S3 notifications'), those of
 * buckets not accepted and of the stack's own dropped, each key's latest write kept (S3's
 * sequencer), and one message per key published through the one publishing path, its FIFO
 * deduplication id covering the write (version id, else ETag, else sequencer). What was published
 * is recorded for the next report's `missed` run; the records whose keys could not be published
 * are returned as batch item failures, for SQS to deliver again.
 */
export async function publishLiveBatch(
  records: readonly SQSRecord[],
  context: PipelineContext,
  settings: LiveSettings,
  deadline = Number.POSITIVE_INFINITY,
): Promise<LiveOutcome> {
  const { events, ignored } = liveEventsOf(records);
  for (const record of ignored) context.log.warn('live record ignored', { ...record });
  const accepted = events.filter((event) => settings.sourceBuckets.includes(event.bucket) && !settings.ownBuckets.includes(event.bucket));
  const { latest, superseded } = latestPerKey(accepted);
  await resolveKeys(context, latest);
  const stats = new RunStats();
  const failed = new Set<string>();
  const lags: number[] = [];
  const published = new Map<string, bigint[]>();
  const handed = chunksUntil(latest, deadline, chunkSize(context.config.maxMessagesPerSecond));
  const publish = settings.publish ?? publishAll;
  await publish(handed.chunks, context, stats, (event: LiveEvent, done) => {
    if (!done) return failed.add(event.messageId);
    lags.push(Date.now() - event.writtenAt);
    const etag = event.details.etag;
    if (etag) hashesOf(published, event.bucket).push(recordHash(event.bucket, event.key, etag));
  }).catch((error: unknown) => context.log.error('live batch not all published', { error: String(error) }));
  const deferred = handed.rest();
  for (const event of deferred) failed.add(event.messageId);
  const recorded = await writeRecords(context, settings, published);
  lags.sort((a, b) => a - b);
  return {
    batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })),
    published: stats.published,
    refused: events.length - accepted.length,
    ignored: ignored.length,
    superseded: superseded.length,
    deferred: deferred.length,
    ...(lags.length > 0 && { lagMsP50: percentile(lags, 0.5), lagMsP99: percentile(lags, 0.99) }),
    recorded,
  };
}

/**
 * Objects handed over a chunk at a time while the deadline holds: a chunk is at most about a
 * tenth of a second of a rate cap, so that what is handed before the deadline is sent soon after.
 */
function chunksUntil(events: readonly LiveEvent[], deadline: number, size: number) {
  let next = 0;
  const chunks = (async function* () {
    while (next < events.length && Date.now() < deadline) {
      const chunk = events.slice(next, next + size);
      next += chunk.length;
      yield chunk;
    }
  })();
  return { chunks, rest: () => events.slice(next) };
}

function chunkSize(maxMessagesPerSecond: number | undefined): number {
  return maxMessagesPerSecond ? Math.min(1_000, Math.max(10, Math.ceil(maxMessagesPerSecond / 10))) : 1_000;
}

/** The value of `sorted` (ascending) at `fraction` of the way, nearest rank; 0 of none. */
export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number);
}

/**
 * Each event's key as the object's: an EventBridge key that would decode to another is looked up
 * as given first (one HEAD), and taken decoded when no such object exists.
 */
async function resolveKeys(context: PipelineContext, events: readonly LiveEvent[]): Promise<void> {
  // Most keys decode to themselves: only the others wait for a HEAD.
  const undecided = events.filter((event) => event.alternateKey !== undefined);
  if (undecided.length === 0) return;
  const queue = new PQueue({ concurrency: 16 });
  await Promise.all(
    undecided.map((event) =>
      queue.add(async () => {
        if (!(await exists(context, event.bucket, event.key))) event.key = event.alternateKey as string;
      }),
    ),
  );
}

async function exists(context: PipelineContext, bucket: string, key: string): Promise<boolean> {
  try {
    await context.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isNoSuchKey(error) || httpStatusOf(error) === 404) return false;
    throw error;
  }
}

function hashesOf(published: Map<string, bigint[]>, bucket: string): bigint[] {
  const hashes = published.get(bucket);
  if (hashes) return hashes;
  const created: bigint[] = [];
  published.set(bucket, created);
  return created;
}

/**
 * One record object per source bucket of the batch. A record that cannot be written is logged,
 * not retried: its keys are then published again by the next report's run (a duplicate, never a miss).
 */
async function writeRecords(context: PipelineContext, settings: LiveSettings, byBucket: Map<string, bigint[]>): Promise<number> {
  const store = settings.record;
  if (byBucket.size === 0 || !store) return 0;
  const now = new Date();
  const hour = recordHour(now);
  let recorded = 0;
  for (const [bucket, hashes] of byBucket) {
    const key = `${store.prefix}${bucket}/${hour}/${now.getTime()}-${randomUUID()}.bin`;
    try {
      await context.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: encodeRecord(hashes) }));
      recorded += hashes.length;
    } catch (error) {
      context.log.error('live record not written: the next report publishes these keys again', { key, error: String(error) });
    }
  }
  return recorded;
}
