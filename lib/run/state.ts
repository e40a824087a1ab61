import { stateLocationFromEnvironment } from '../core/config.ts';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../core/listing.ts';
import type { S3Location } from '../core/types.ts';
import type { WorkResult } from './types.ts';
import { httpStatusOf, isNoSuchKey } from '../core/aws-errors.ts';

/**
 * The state of one run of a report lives in small JSON objects beside its manifest, under
 * `<report folder>/s3-to-sqs/`: S3 is already there, reads after writes are consistent, conditional
 * writes make claims and leases atomic, and the state expires with the report. The functions
 * read and write only this folder. A report in a bucket the stack does not own (an adopted
 * inventory) is only read: its run's folder is in the stack's bucket, under the store's prefix
 * followed by the report's bucket and folder, and expires there with the same lifecycle rule.
 *
 * - `claim.json`: the run exists; created once with `If-None-Match: *`.
 * - `parts/<n>.json`: checkpoint of part n, the lease of the worker on it (`If-Match` updates).
 * - `finished/<g>/<n>.json`: result of part n (in group g of `PARTS_PER_GROUP`), done or failed.
 * - `groups/<g>.json`: the summary of group g, written by the part that completed it (holding
 *   `group-locks/<g>.json`); counting them tells when every part is done.
 * - `shards/<n>/<s>.json` and `shards/<n>/finished/<s>.json`: checkpoint and result of shard s of a
 *   part split into row ranges; the part's result is written when all its shards have one.
 * - `report.json`: the completion report, written once.
 */
export interface RunFolder {
  bucket: string;
  prefix: string;
}

/** Where the runs of reports in other buckets keep their state: a bucket the stack owns. */
export interface RunStateStore {
  bucket: string;
  /** Empty, or ends with `/`. */
  prefix: string;
}

export function runFolder(manifest: S3Location, store?: RunStateStore, dryRun = false): RunFolder {
  const slash = manifest.key.lastIndexOf('/');
  // A dry run keeps its state apart: the report's real run is not taken for done, nor its baseline.
  const folder = `${slash === -1 ? '' : manifest.key.slice(0, slash + 1)}${dryRun ? 's3-to-sqs-dry-run/' : 's3-to-sqs/'}`;
  if (!store || store.bucket === manifest.bucket) return { bucket: manifest.bucket, prefix: folder };
  return { bucket: store.bucket, prefix: `${store.prefix}${manifest.bucket}/${folder}` };
}

/** `RUN_STATE_BUCKET` and `RUN_STATE_PREFIX`: where runs of reports in other buckets keep their state. */
export function runStateStoreFromEnvironment(env: NodeJS.ProcessEnv): RunStateStore | undefined {
  return stateLocationFromEnvironment(env, 'RUN_STATE_PREFIX');
}

/**
 * Parts are counted in groups of this many: a finishing part lists its group's results (one
 * listing call), the part that completes a group writes the group's summary, and the run is done
 * when every group has one. Completion so costs a bounded number of requests per part, whatever
 * the number of parts.
 */
export const PARTS_PER_GROUP = 1_000;

const partName = (part: number) => String(part).padStart(6, '0');
const shardName = (shard: number) => String(shard).padStart(4, '0');
const groupName = (group: number) => String(group).padStart(4, '0');
export const groupOf = (part: number) => Math.floor(part / PARTS_PER_GROUP);
export const claimKey = (run: RunFolder) => `${run.prefix}claim.json`;
export const finishedPrefix = (run: RunFolder) => `${run.prefix}finished/`;
export const groupFinishedPrefix = (run: RunFolder, group: number) => `${finishedPrefix(run)}${groupName(group)}/`;
export const groupsPrefix = (run: RunFolder) => `${run.prefix}groups/`;
export const groupSummaryKey = (run: RunFolder, group: number) => `${groupsPrefix(run)}${groupName(group)}.json`;
/** Held by the call that sums a group up; outside `groups/`, which counts the summaries. */
export const groupLockKey = (run: RunFolder, group: number) => `${run.prefix}group-locks/${groupName(group)}.json`;
export const shardFinishedPrefix = (run: RunFolder, part: number) => `${run.prefix}shards/${partName(part)}/finished/`;

/** Checkpoint (the lease) of a part, or of one shard of it. */
export function checkpointKey(run: RunFolder, part: number, shard?: number): string {
  return shard === undefined
    ? `${run.prefix}parts/${partName(part)}.json`
    : `${run.prefix}shards/${partName(part)}/${shardName(shard)}.json`;
}

/** Result of a part, or of one shard of it. */
export function finishedKey(run: RunFolder, part: number, shard?: number): string {
  return shard === undefined
    ? `${groupFinishedPrefix(run, groupOf(part))}${partName(part)}.json`
    : `${shardFinishedPrefix(run, part)}${shardName(shard)}.json`;
}
export const reportKey = (run: RunFolder) => `${run.prefix}report.json`;

export interface StoredJson<T> {
  value: T;
  etag: string;
}

/** Reads a JSON state object; undefined when it does not exist. */
export async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<StoredJson<T> | undefined> {
  const stored = await getText(s3, bucket, key);
  return stored && { value: JSON.parse(stored.text || 'null') as T, etag: stored.etag };
}

/** An object's text and ETag; undefined when it does not exist. */
async function getText(s3: S3Client, bucket: string, key: string): Promise<{ text: string; etag: string } | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { text: (await response.Body?.transformToString('utf8')) ?? '', etag: response.ETag ?? '' };
  } catch (error) {
    if (isNoSuchKey(error)) return undefined;
    throw error;
  }
}

export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string } | Record<string, never>;

/**
 * Writes a JSON state object; with a condition, returns undefined instead of writing when the
 * condition does not hold (another writer was first), else the new ETag.
 */
export async function putJson(
  s3: S3Client,
  bucket: string,
  key: string,
  value: unknown,
  condition: WriteCondition = {},
): Promise<string | undefined> {
  const body = JSON.stringify(value);
  try {
    const { ETag } = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ...('ifNoneMatch' in condition && { IfNoneMatch: condition.ifNoneMatch }),
        ...('ifMatch' in condition && { IfMatch: condition.ifMatch }),
      }),
    );
    return ETag ?? '';
  } catch (error) {
    const status = httpStatusOf(error);
    // 412: the condition failed; 409: a concurrent conditional write won; 404: If-Match on nothing.
    if (Object.keys(condition).length > 0 && (status === 412 || status === 409 || status === 404)) return ownWrite(s3, bucket, key, body);
    throw error;
  }
}

/**
 * The ETag of the object if it holds exactly `body`: a write whose answer was lost (a timeout) is
 * retried by the SDK, and the retry's condition then fails against the first attempt's own
 * success. Every state object carries its writer and a time, so equal bytes mean our write.
 */
async function ownWrite(s3: S3Client, bucket: string, key: string, body: string): Promise<string | undefined> {
  const stored = await getText(s3, bucket, key);
  return stored?.text === body ? stored.etag : undefined;
}

/** The results under a prefix (`finishedPrefix` or `shardFinishedPrefix`), in key order. */
export async function* finishedResults<T extends WorkResult>(s3: S3Client, bucket: string, prefix: string): AsyncGenerator<T> {
  for await (const object of listObjects(s3, bucket, prefix)) {
    const result = await getJson<T>(s3, bucket, object.Key ?? '');
    if (result) yield result.value;
  }
}

/** How many results there are under a prefix: one listing call per 1,000. */
export async function countFinished(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let count = 0;
  for await (const _ of listObjects(s3, bucket, prefix)) count += 1;
  return count;
}

/**
 * A backfill run's state, in the stack's bucket: `<prefix><source bucket>/<run id>/s3-to-sqs/`,
 * beside the reports' and expiring with them. It holds `claim.json` (the plan), `ranges/<id>.json`
 * (each key range's checkpoint, its lease), `finished/<id>~<pieces>.json` (each range's result,
 * named with how many pieces it split off, so that one listing tells whether every range is done)
 * and `report.json`.
 */
export function backfillRunFolder(store: RunStateStore, sourceBucket: string, runId: string): RunFolder {
  return { bucket: store.bucket, prefix: `${store.prefix}${sourceBucket}/${runId}/s3-to-sqs/` };
}

/** `RUN_STATE_BUCKET` and `BACKFILL_STATE_PREFIX`: where backfill runs keep their state. */
export function backfillStoreFromEnvironment(env: NodeJS.ProcessEnv): RunStateStore | undefined {
  return stateLocationFromEnvironment(env, 'BACKFILL_STATE_PREFIX', 'backfill/');
}

export const rangesPrefix = (run: RunFolder) => `${run.prefix}ranges/`;
export const rangeCheckpointKey = (run: RunFolder, id: string) => `${rangesPrefix(run)}${id}.json`;
/** The range a key under `rangesPrefix` is the checkpoint of. */
export const rangeOfCheckpointKey = (run: RunFolder, key: string) => key.slice(rangesPrefix(run).length, -'.json'.length);
/** Where a range's result is, named with its id and the pieces it split off. */
export const rangeFinishedKey = (run: RunFolder, id: string, pieces: number) => `${finishedPrefix(run)}${id}~${pieces}.json`;
/** The range a key under `finishedPrefix` is the result of, and the pieces it split off; undefined for another name. */
export function rangeOfFinishedKey(run: RunFolder, key: string): { id: string; pieces: number } | undefined {
  const [id = '', pieces = ''] = key.slice(finishedPrefix(run).length, -'.json'.length).split('~');
  return /^\d+$/.test(pieces) ? { id, pieces: Number(pieces) } : undefined;
}
/** The prefix only that range's result is under: the id ends at `~`. */
export const rangeFinishedPrefix = (run: RunFolder, id: string) => `${finishedPrefix(run)}${id}~`;
