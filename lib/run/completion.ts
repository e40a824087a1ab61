import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import type { Log, S3Location } from '../core/types.ts';
import {
  claimKey,
  countFinished,
  finishedResults,
  getJson,
  groupFinishedPrefix,
  groupLockKey,
  groupOf,
  groupSummaryKey,
  groupsPrefix,
  PARTS_PER_GROUP,
  putJson,
  reportKey,
  type RunFolder,
} from './state.ts';
import type { PartCounters, PartResult, RunClaim, RunReport, RunTotals } from './types.ts';

/** The run a finishing part belongs to, and the part (absent: a run of no part at all). */
export interface FinishingPart {
  manifest: S3Location;
  run: RunFolder;
  sourceBucket: string;
  parts: number;
  part?: number;
}

/** What the part that completed a group wrote of it: its totals, and its parts' results. */
export interface GroupSummary {
  group: number;
  shards: number;
  totals: RunTotals;
  failedParts: number[];
  partResults: PartResult[];
}

/** The results of the failed parts a report of many groups keeps (the rest stay in `finished/`). */
const FAILED_RESULTS_KEPT = 1_000;

export function sumCounters(parts: Array<{ counters: PartCounters; continuations: number }>): RunTotals {
  const stats = new RunStats();
  let continuations = 0;
  for (const part of parts) {
    stats.restore(part.counters);
    continuations += part.continuations;
  }
  const { rowsRead, published, skipped, skippedByReason, failed, retries, sends, sqsRequests } = stats.counters();
  return {
    rowsRead,
    published,
    skipped,
    skippedByReason,
    failed,
    retries,
    ...(sends !== undefined && { sends, sqsRequests }),
    continuations,
  };
}

/**
 * Writes the completion report once every part has a result, and returns it; undefined while
 * parts remain. Any worker that finishes a part calls it: it lists the results of the part's group
 * (one call), writes the group's summary when the group is complete, then lists the groups' summaries
 * (one call per 1,000 groups); the report is written once. Every part writes its result before it
 * lists, so the last of them to list sees every result: some finishing part always completes the run.
 */
export async function completeRunIfFinished(
  s3: S3Client,
  finishing: FinishingPart,
  log: Log,
  /** Hears of the report when this call is the one that wrote it. */
  onWritten?: (report: RunReport) => void,
): Promise<RunReport | undefined> {
  const { run, parts } = finishing;
  const groups = Math.ceil(parts / PARTS_PER_GROUP);
  const mine = finishing.part === undefined ? Array.from({ length: groups }, (_, group) => group) : [groupOf(finishing.part)];
  for (const group of mine) if (!(await completeGroup(s3, run, group, parts))) return undefined;
  if (groups > 0 && (await countFinished(s3, run.bucket, groupsPrefix(run))) < groups) return undefined;
  const { report, written } = await writeReportOnce(s3, run, () => assembleReport(s3, finishing, groups));
  if (!written) return report;
  // Bounded whatever the number of parts: the details stay in report.json.
  const { partResults: _, failedParts: failed, ...rest } = report;
  const logged = { ...rest, failedParts: failed.length, ...(failed.length > 0 && { firstFailedParts: failed.slice(0, 10) }) };
  if (report.status === 'complete') log.info('inventory run finished', logged);
  else log.error('inventory run finished with failed parts', logged);
  onWritten?.(report);
  return report;
}

/**
 * A run's report.json, written once: the one there already (another finisher's), else the one
 * `assemble` makes, created with `If-None-Match`; a finisher that loses that race returns the
 * winner's. `written`: this call wrote it, and is the one to log it.
 */
export async function writeReportOnce<Report>(
  s3: S3Client,
  run: RunFolder,
  assemble: () => Report | Promise<Report>,
): Promise<{ report: Report; written: boolean }> {
  const existing = await getJson<Report>(s3, run.bucket, reportKey(run));
  if (existing) return { report: existing.value, written: false };
  const report = await assemble();
  if ((await putJson(s3, run.bucket, reportKey(run), report, { ifNoneMatch: '*' })) === undefined) {
    return { report: (await getJson<Report>(s3, run.bucket, reportKey(run)))?.value ?? report, written: false };
  }
  return { report, written: true };
}

/**
 * Whether `group` is complete and summed up. The call that finds all its results takes the
 * group's lock and writes its summary; a call that finds the lock taken leaves it to its holder,
 * unless the holder has been silent long enough to have died, when it takes the lock over.
 */
async function completeGroup(s3: S3Client, run: RunFolder, group: number, parts: number): Promise<boolean> {
  const expected = Math.min(PARTS_PER_GROUP, parts - group * PARTS_PER_GROUP);
  if ((await countFinished(s3, run.bucket, groupFinishedPrefix(run, group))) < expected) return false;
  if (await getJson<GroupSummary>(s3, run.bucket, groupSummaryKey(run, group))) return true;
  if (!(await lockGroup(s3, run, group))) return false;
  const partResults: PartResult[] = [];
  for await (const result of finishedResults<PartResult>(s3, run.bucket, groupFinishedPrefix(run, group))) partResults.push(result);
  partResults.sort((a, b) => a.part - b.part);
  const summary: GroupSummary = {
    group,
    shards: partResults.reduce((sum, result) => sum + (result.shards?.length ?? 1), 0),
    totals: sumCounters(partResults),
    failedParts: partResults.filter((result) => result.status === 'failed').map((result) => result.part),
    partResults,
  };
  // A completer that took a stale lock over writes the same summary: either one stands.
  await putJson(s3, run.bucket, groupSummaryKey(run, group), summary, { ifNoneMatch: '*' });
  return true;
}

/** How long a group's lock holds before another call may take it over: summing 1,000 results takes seconds. */
const GROUP_LOCK_MS = 120_000;

/** Takes the lock of summing up `group`: created if absent, or taken over once stale. */
async function lockGroup(s3: S3Client, run: RunFolder, group: number): Promise<boolean> {
  const key = groupLockKey(run, group);
  const lock = { takenAt: new Date().toISOString(), by: randomUUID() };
  if ((await putJson(s3, run.bucket, key, lock, { ifNoneMatch: '*' })) !== undefined) return true;
  const held = await getJson<{ takenAt: string }>(s3, run.bucket, key);
  if (!held || Date.now() - Date.parse(held.value.takenAt) < GROUP_LOCK_MS) return false;
  return (await putJson(s3, run.bucket, key, lock, { ifMatch: held.etag })) !== undefined;
}

/** The run's report from its groups' summaries, read one at a time: memory holds totals and failed results only. */
async function assembleReport(s3: S3Client, { manifest, run, sourceBucket, parts }: FinishingPart, groups: number): Promise<RunReport> {
  const claim = (await getJson<RunClaim>(s3, run.bucket, claimKey(run)))?.value;
  const totals: RunTotals[] = [];
  const failedParts: number[] = [];
  const partResults: PartResult[] = [];
  let shards = 0;
  for (let group = 0; group < groups; group += 1) {
    const summary = (await getJson<GroupSummary>(s3, run.bucket, groupSummaryKey(run, group)))?.value;
    if (!summary) throw new Error(`the summary of group ${group} of ${formatS3Uri(manifest)} vanished while the report was written`);
    totals.push(summary.totals);
    shards += summary.shards;
    failedParts.push(...summary.failedParts.slice(0, FAILED_RESULTS_KEPT - failedParts.length));
    // One group: every part's result; more: the failed ones', the rest in finished/ and groups/.
    const kept = groups === 1 ? summary.partResults : summary.partResults.filter((result) => result.status === 'failed');
    for (const result of kept) if (partResults.length < FAILED_RESULTS_KEPT || groups === 1) partResults.push(result);
  }
  const startedAt = claim?.claimedAt ?? partResults[0]?.startedAt ?? new Date().toISOString();
  const endedAt = new Date().toISOString();
  const summed = sumTotals(totals);
  return {
    manifest: formatS3Uri(manifest),
    sourceBucket,
    status: totals.length > 0 && failedParts.length > 0 ? 'failed' : 'complete',
    parts,
    shards,
    failedParts,
    startedAt,
    endedAt,
    totals: summed,
    // The rate the run held, from its claim to its report: under a cap, what the consumers saw.
    messagesPerSecond: Math.round(summed.published / Math.max(0.001, (Date.parse(endedAt) - Date.parse(startedAt)) / 1000)),
    ...(claim?.baseline && { baseline: claim.baseline }),
    ...(claim?.liveRecord && { liveRecord: claim.liveRecord }),
    ...(claim?.dryRun && { dryRun: true }),
    partResults,
  };
}

function sumTotals(all: RunTotals[]): RunTotals {
  return sumCounters(all.map(({ continuations, ...counters }) => ({ counters, continuations })));
}
