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
export const claimKey = (run: RunFolder) => `${run.prefix}claim.json`;
export const checkpointKey = (run: RunFolder, part: number) => `${run.prefix}parts/${partName(part)}.json`;
export const finishedPrefix = (run: RunFolder) => `${run.prefix}finished/`;
export const finishedKey = (run: RunFolder, part: number) => `${finishedPrefix(run)}${partName(part)}.json`;
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
}

export interface PartResult {
  part: number;
  file: string;
  status: 'done' | 'failed';
  rowsDone: number;
  counters: PartCounters;
  continuations: number;
  startedAt?: string;
  endedAt: string;
  error?: string;
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
export async function putJson(s3: S3Client, bucket: string, key: string, value: unknown, condition: WriteCondition = {}): Promise<string | undefined> {
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

/** The results of the parts that have one. */
export async function* finishedParts(s3: S3Client, run: RunFolder): AsyncGenerator<PartResult> {
  for await (const object of listObjects(s3, run.bucket, finishedPrefix(run))) {
    const result = await getJson<PartResult>(s3, run.bucket, object.Key ?? '');
    if (result) yield result.value;
  }
}

/** How many parts have a result: one listing call per 1,000 parts. */
export async function countFinishedParts(s3: S3Client, run: RunFolder): Promise<number> {
  let count = 0;
  for await (const _ of listObjects(s3, run.bucket, finishedPrefix(run))) count += 1;
  return count;
}
