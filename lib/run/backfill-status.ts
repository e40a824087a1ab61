import type { S3Client } from '@aws-sdk/client-s3';
import PQueue from 'p-queue';
import { listObjects } from '../core/listing.ts';
import { listFinishedRanges, readBackfillClaim, readResults } from './backfill-completion.ts';
import { sumCounters } from './completion.ts';
import { pieceId } from './range-task.ts';
import { getJson, rangeOfCheckpointKey, rangesPrefix, reportKey, type RunFolder } from './state.ts';
import type { BackfillReport, BackfillStatus, RangeCheckpoint } from './types.ts';

/** A checkpoint saved within this long belongs to a worker listing its range now. */
const IN_FLIGHT_MS = 60_000;

/**
 * How far a backfill run has come: its report once written; until then, from its state, the
 * ranges done (with a result), in flight (a worker saved their checkpoint within the last minute)
 * and queued (planned or split off, not taken yet, or waiting for their continuation), and the
 * totals of the results and the checkpoints.
 */
export async function runBackfillStatus(s3: S3Client, run: RunFolder): Promise<BackfillStatus> {
  const claim = await readBackfillClaim(s3, run);
  const base = {
    kind: 'backfill' as const,
    runId: claim.runId,
    bucket: claim.bucket,
    prefix: claim.prefix,
    stateLocation: `s3://${run.bucket}/${run.prefix}`,
  };
  const report = (await getJson<BackfillReport>(s3, run.bucket, reportKey(run)))?.value;
  if (report) {
    const { status, ranges, totals, messagesPerSecond } = report;
    return { ...base, state: status, ranges: { done: ranges, inFlight: 0, queued: 0 }, totals, messagesPerSecond, report };
  }
  const finished = await listFinishedRanges(s3, run);
  const results = await readResults(s3, run, finished);
  const open = await openCheckpoints(s3, run, finished);
  const known = new Set(Array.from({ length: claim.roots }, (_, root) => String(root)));
  const note = (id: string, pieces: number) => {
    for (let piece = 1; piece <= pieces; piece += 1) known.add(pieceId(id, piece));
  };
  for (const [id, pieces] of finished) note(id, pieces);
  for (const checkpoint of open) note(checkpoint.id, checkpoint.children);
  const now = Date.now();
  const inFlight = open.filter(
    (checkpoint) => checkpoint.owner !== '' && !checkpoint.handedOver && now - Date.parse(checkpoint.updatedAt) < IN_FLIGHT_MS,
  ).length;
  const totals = sumCounters([...results, ...open]);
  return {
    ...base,
    state: 'running',
    ranges: { done: finished.size, inFlight, queued: Math.max(0, known.size - finished.size - inFlight) },
    totals,
    messagesPerSecond: Math.round(totals.published / Math.max(0.001, (now - Date.parse(claim.claimedAt)) / 1000)),
  };
}

/** The checkpoints of the ranges without a result, read a few at a time. */
async function openCheckpoints(s3: S3Client, run: RunFolder, finished: Map<string, number>): Promise<RangeCheckpoint[]> {
  const queue = new PQueue({ concurrency: 16 });
  const reads: Array<Promise<RangeCheckpoint | undefined>> = [];
  for await (const object of listObjects(s3, run.bucket, rangesPrefix(run))) {
    const key = object.Key ?? '';
    if (finished.has(rangeOfCheckpointKey(run, key))) continue;
    reads.push(queue.add(async () => (await getJson<RangeCheckpoint>(s3, run.bucket, key))?.value));
  }
  return (await Promise.all(reads)).filter((checkpoint): checkpoint is RangeCheckpoint => checkpoint !== undefined);
}
