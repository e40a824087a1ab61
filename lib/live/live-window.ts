import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../core/listing.ts';
import { LIMITS, loadLiveRecordBound, stateLocationFromEnvironment } from '../core/config.ts';
import { LiveRecordSet } from './live-record.ts';

/** Where the live path writes its records: `<prefix><source bucket>/<YYYY-MM-DD>/<HH>/…`. */
export interface LiveRecordStore {
  bucket: string;
  prefix: string;
  /** Keys a run's compacted record may hold (`LIVE_RECORD_BOUND`, 4,000,000 by default). */
  bound?: number;
}

/** `RUN_STATE_BUCKET` and `LIVE_RECORD_PREFIX` (default `live/`); none without a state bucket. */
export function liveRecordStoreFromEnvironment(env: NodeJS.ProcessEnv): LiveRecordStore | undefined {
  const location = stateLocationFromEnvironment(env, 'LIVE_RECORD_PREFIX', 'live/');
  return location && { ...location, bound: loadLiveRecordBound(env) };
}

/** Keys a run's compacted record may hold (8 bytes each: 32 MB); past it the run publishes every changed key. */
export const LIVE_RECORD_BOUND = LIMITS.LIVE_RECORD_BOUND[1];

export interface CompactedRecord {
  /** Keys the live path published in the window, or counted until the bound was passed. */
  keys: number;
  /** Record objects read. */
  objects: number;
  /** Past the bound: the run publishes every changed key (duplicates, never a miss). */
  overBound?: true;
}

/**
 * The live records of `sourceBucket` written from `since` to `until`, read hour by hour (one
 * listing call per hour and per 1,000 records, one GET per record) into one sorted set, written to
 * `target` for the run's workers, who each read it once. A window past `bound` keys writes nothing.
 */
export async function compactLiveRecords(
  s3: S3Client,
  store: LiveRecordStore,
  window: { sourceBucket: string; since: Date; until: Date },
  target: { bucket: string; key: string },
): Promise<CompactedRecord> {
  const set = new LiveRecordSet(store.bound ?? LIVE_RECORD_BOUND);
  let objects = 0;
  let counted = 0;
  for (const hour of hoursOf(window.since, window.until)) {
    for await (const object of listObjects(s3, store.bucket, `${store.prefix}${window.sourceBucket}/${hour}/`)) {
      objects += 1;
      counted += Math.floor((object.Size ?? 0) / 8);
      if (set.overBound) continue;
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: object.Key }));
      set.add((await Body?.transformToByteArray()) ?? new Uint8Array(), object.Key ?? '');
    }
  }
  if (set.overBound) return { keys: counted, objects, overBound: true };
  await s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: set.toBytes() }));
  return { keys: set.size, objects };
}

/** A run's compacted record, as its workers read it. */
export async function readCompactedRecord(s3: S3Client, location: { bucket: string; key: string }): Promise<LiveRecordSet> {
  const { Body, ContentLength = 0 } = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
  if (ContentLength > LIVE_RECORD_BOUND * 8)
    throw new Error(`live record s3://${location.bucket}/${location.key} holds more than ${LIVE_RECORD_BOUND} keys`);
  const set = new LiveRecordSet(Math.max(1, Math.ceil(ContentLength / 8)));
  set.add((await Body?.transformToByteArray()) ?? new Uint8Array(), location.key);
  return set;
}

/** The folder of the records written at `time`: `YYYY-MM-DD/HH` (UTC). */
export function recordHour(time: Date): string {
  return time.toISOString().slice(0, 13).replace('T', '/');
}

/** `recordHour` of every hour from `since` to `until`, both included. */
function* hoursOf(since: Date, until: Date): Generator<string> {
  const hour = 3_600_000;
  for (let time = Math.floor(since.getTime() / hour) * hour; time <= until.getTime(); time += hour) yield recordHour(new Date(time));
}
