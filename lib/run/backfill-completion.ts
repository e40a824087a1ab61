import type { S3Client } from '@aws-sdk/client-s3';
import PQueue from 'p-queue';
import { listObjects } from '../core/listing.ts';
import type { Log } from '../core/types.ts';
import { sumCounters, writeReportOnce } from './completion.ts';
import { pieceId } from './range-task.ts';
import { claimKey, finishedPrefix, getJson, rangeFinishedKey, rangeOfFinishedKey, type RunFolder } from './state.ts';
import type { BackfillClaim, BackfillReport, RangeResult } from './types.ts';

/** A backfill run's ranges with a result: id → pieces it split off. */
export type FinishedRanges = Map<string, number>;

/** The ranges with a result, from the names of their results: one listing call per 1,000 ranges. */
export async function listFinishedRanges(s3: S3Client, run: RunFolder): Promise<FinishedRanges> {
  const finished: FinishedRanges = new Map();
  for await (const object of listObjects(s3, run.bucket, finishedPrefix(run))) {
    const range = rangeOfFinishedKey(run, object.Key ?? '');
    if (range) finished.set(range.id, range.pieces);
  }
  return finished;
}

/**
 * Every range of the run has a result: each planned one, and every piece each finished range
 * split off. A range records its pieces before it queues them and before its own result, so a
 * piece of a range still running is never missed: its parent has no result yet.
 */
export function allRangesFinished(roots: number, finished: FinishedRanges): boolean {
  for (let root = 0; root < roots; root += 1) if (!finished.has(String(root))) return false;
  for (const [id, pieces] of finished) {
    for (let piece = 1; piece <= pieces; piece += 1) if (!finished.has(pieceId(id, piece))) return false;
  }
  return true;
}

export async function readBackfillClaim(s3: S3Client, run: RunFolder): Promise<BackfillClaim> {
  const claim = (await getJson<BackfillClaim>(s3, run.bucket, claimKey(run)))?.value;
  if (claim?.kind !== 'backfill') throw new Error(`s3://${run.bucket}/${run.prefix} holds no backfill run (no claim.json of one)`);
  return claim;
}

/**
 * Writes the backfill run's report once every range has a result, and returns it; undefined while
 * ranges remain. Every finishing range calls it after writing its result, so the last one to
 * list sees them all.
 */
export async function completeBackfillIfFinished(
  s3: S3Client,
  run: RunFolder,
  log: Log,
  onWritten?: (report: BackfillReport) => void,
): Promise<BackfillReport | undefined> {
  const claim = await readBackfillClaim(s3, run);
  const finished = await listFinishedRanges(s3, run);
  if (!allRangesFinished(claim.roots, finished)) return undefined;
  const { report, written } = await writeReportOnce(s3, run, async () => assembleReport(claim, await readResults(s3, run, finished)));
  if (!written) return report;
  const { failedRanges, ...rest } = report;
  const logged = {
    ...rest,
    failedRanges: failedRanges.length,
    ...(failedRanges.length > 0 && { firstFailedRanges: failedRanges.slice(0, 10) }),
  };
  if (report.status === 'complete') log.info('backfill run finished', logged);
  else log.error('backfill run finished with failed ranges', logged);
  onWritten?.(report);
  return report;
}

/** Results read at once while a report or a status is assembled. */
const READS_IN_FLIGHT = 16;

/** The results of the finished ranges, read a few at a time. */
export async function readResults(s3: S3Client, run: RunFolder, finished: FinishedRanges): Promise<RangeResult[]> {
  const queue = new PQueue({ concurrency: READS_IN_FLIGHT });
  const reads = [...finished].map(([id, pieces]) =>
    queue.add(async () => (await getJson<RangeResult>(s3, run.bucket, rangeFinishedKey(run, id, pieces)))?.value),
  );
  return (await Promise.all(reads)).filter((result): result is RangeResult => result !== undefined);
}

/** Failed ranges a report names at most (every one is in `finished/`). */
const FAILED_RANGES_KEPT = 1_000;

function assembleReport(claim: BackfillClaim, results: RangeResult[]): BackfillReport {
  const totals = sumCounters(results);
  const failed = results.filter((result) => result.status === 'failed');
  const endedAt = new Date().toISOString();
  const seconds = Math.max(0.001, (Date.parse(endedAt) - Date.parse(claim.claimedAt)) / 1000);
  return {
    kind: 'backfill',
    runId: claim.runId,
    bucket: claim.bucket,
    prefix: claim.prefix,
    status: failed.length > 0 ? 'failed' : 'complete',
    ranges: results.length,
    rangesWithKeys: results.filter((result) => result.hadKeys).length,
    failedRanges: failed.slice(0, FAILED_RANGES_KEPT).map((result) => ({ id: result.id, error: result.error ?? 'failed' })),
    startedAt: claim.claimedAt,
    endedAt,
    totals,
    messagesPerSecond: Math.round(totals.published / seconds),
    ...(claim.dryRun && { dryRun: true }),
  };
}
