import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../core/listing.ts';
import type { StatsSummary } from '../core/run-stats.ts';
import type { VerifiedFile } from '../inventory/reader.ts';
import type { Baseline } from './baseline.ts';
import type { S3Location } from '../core/types.ts';

/**
 * The state of one run of a report lives in small JSON objects beside its manifest, under
 * `<report folder>/s3-to-sqs/`: S3 is already there, reads after writes are consistent, conditional
 * writes make claims and leases atomic, and the state expires with the report. The functions
 * read and write only this folder.
 *
 * - `claim.json`: the run exists; created once with `If-None-Match: *`.
 * - `parts/<n>.json`: checkpoint of part n, the lease of the worker on it (`If-Match` updates).
 * - `finished/<n>.json`: result of part n, done or failed; counting them tells when all are done.
 * - `shards/<n>/<s>.json` and `shards/<n>/finished/<s>.json`: checkpoint and result of shard s of a
 *   part split into row ranges; the part's result is written when all its shards have one.
 * - `report.json`: the completion report, written once.
 */
export interface RunFolder {
  bucket: string;
  prefix: string;
}

export function runFolder(manifest: S3Location): RunFolder {
  const slash = manifest.key.lastIndexOf('/');
  return { bucket: manifest.bucket, prefix: `${slash === -1 ? '' : manifest.key.slice(0, slash + 1)}s3-to-sqs/` };
}

const partName = (part: number) => String(part).padStart(6, '0');
const shardName = (shard: number) => String(shard).padStart(4, '0');
export const claimKey = (run: RunFolder) => `${run.prefix}claim.json`;
export const finishedPrefix = (run: RunFolder) => `${run.prefix}finished/`;
export const shardFinishedPrefix = (run: RunFolder, part: number) => `${run.prefix}shards/${partName(part)}/finished/`;

/** Checkpoint (the lease) of a part, or of one shard of it. */
export function checkpointKey(run: RunFolder, part: number, shard?: number): string {
  return shard === undefined
    ? `${run.prefix}parts/${partName(part)}.json`
    : `${run.prefix}shards/${partName(part)}/${shardName(shard)}.json`;
}

/** Result of a part, or of one shard of it. */
export function finishedKey(run: RunFolder, part: number, shard?: number): string {
  return shard === undefined ? `${finishedPrefix(run)}${partName(part)}.json` : `${shardFinishedPrefix(run, part)}${shardName(shard)}.json`;
}
export const reportKey = (run: RunFolder) => `${run.prefix}report.json`;

/** Counters of a part, summed over every invocation that worked on it. */
export type PartCounters = Omit<StatsSummary, 'durationMs'>;

export interface RunClaim {
  manifest: string;
  sourceBucket: string;
  parts: number;
  claimedAt: string;
  /** The claiming invocation will have ended by then: a claim still `claimed` after it is abandoned. */
  expiresAt: string;
  /** `claimed` while the tasks are being queued, `queued` once they all are, `released` after a failure. */
  status: 'claimed' | 'queued' | 'released';
  /** `changed` mode: the run published the difference from this one, or everything (`none`). */
  baseline?: Baseline | 'none';
}

export interface PartCheckpoint {
  part: number;
  /** Set on the checkpoint of a shard. */
  shard?: number;
  file: string;
  /** The task attempt holding the part: SQS message id and receive count. */
  owner: string;
  /** Continuation number of the owner's task: 0 for the first. */
  sequence: number;
  /** The owner queued a continuation and stopped: a later task takes over. */
  handedOver?: boolean;
  /** Leading rows of the data file whose keys are settled: a resumed task starts after them. */
  rowsDone: number;
  counters: PartCounters;
  continuations: number;
  startedAt: string;
  updatedAt: string;
  lastError?: string;
  /** Set once the data file's size and MD5 were checked: its rows, and the ETag checked. */
  verified?: VerifiedFile;
  /** The part was split into this many shards, each published by tasks of its own. */
  shards?: number;
}

/** How a part, or a shard of one, ended. */
export interface WorkResult {
  status: 'done' | 'failed';
  rowsDone: number;
  counters: PartCounters;
  continuations: number;
  startedAt?: string;
  endedAt: string;
  error?: string;
}

export interface PartResult extends WorkResult {
  part: number;
  file: string;
  /** A part split into shards: each one's result, in order. */
  shards?: ShardResult[];
}

export interface ShardResult extends WorkResult {
  shard: number;
  /** The shard's rows are those after `firstRow`, up to `lastRow` or the end of the file. */
  firstRow: number;
  lastRow?: number;
}

export interface StoredJson<T> {
  value: T;
  etag: string;
}

/** Reads a JSON state object; undefined when it does not exist. */
export async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<StoredJson<T> | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { value: JSON.parse((await response.Body?.transformToString('utf8')) ?? 'null') as T, etag: response.ETag ?? '' };
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
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
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
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
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await response.Body?.transformToString('utf8')) === body ? (response.ETag ?? '') : undefined;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
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
