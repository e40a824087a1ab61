import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Selection } from '../core/config.ts';
import { fetchManifest, type InventoryManifest, requireColumns } from '../inventory/manifest.ts';
import type { AnnouncedManifest } from '../inventory/s3-event.ts';
import { findBaseline } from './baseline.ts';
import { queueTasks, type PartTask } from './part-task.ts';
import { completeRunIfFinished } from './report.ts';
import { claimKey, getJson, putJson, type RunStateStore, runFolder } from './state.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import type { Log, S3Location } from '../core/types.ts';
import { httpStatusOf, isNoSuchKey } from '../core/aws-errors.ts';
import type { RunClaim } from './types.ts';

export interface FanOutContext {
  s3: S3Client;
  work: SQSClient;
  workQueueUrl: string;
  log: Log;
  /** When this invocation will have ended at the latest (epoch ms): its claim expires then. */
  deadline: number;
  /** What to publish; everything, with bucket and key only, when absent. */
  selection?: Selection;
  /** Where runs of reports in buckets the stack does not own keep their state. */
  stateStore?: RunStateStore;
}

export interface FanOutSummary {
  manifest: string;
  sourceBucket: string;
  parts: number;
  /** `started`: this invocation claimed the report; `duplicate`: another one had. */
  status: 'started' | 'resumed' | 'duplicate';
}

/**
 * Starts the run of a report: validates its manifest, claims it (S3 creates `claim.json` only if
 * it does not exist, so a second delivery of the same event starts nothing), then queues one task
 * per data file for the workers.
 */
export async function startInventoryRun(announced: AnnouncedManifest, context: FanOutContext): Promise<FanOutSummary> {
  const { s3, log } = context;
  const { location, manifest } = await readAnnouncedManifest(s3, announced);
  const changedOnly = context.selection?.publishMode === 'changed';
  // A report without the columns the run needs is refused before anything is queued.
  requireColumns(manifest, context.selection?.messageFields ?? [], changedOnly);
  const baseline = changedOnly
    ? await findBaseline(s3, location, context.selection?.changedMarginHours ?? 0, context.stateStore)
    : undefined;
  const run = runFolder(location, context.stateStore);
  const uri = formatS3Uri(location);
  const summary = { manifest: uri, sourceBucket: manifest.sourceBucket, parts: manifest.files.length };
  const claim: RunClaim = {
    ...summary,
    claimedAt: new Date().toISOString(),
    expiresAt: new Date(context.deadline).toISOString(),
    status: 'claimed',
    ...(changedOnly && { baseline: baseline ?? 'none' }),
  };

  let status: FanOutSummary['status'] = 'started';
  let etag = await putJson(s3, run.bucket, claimKey(run), claim, { ifNoneMatch: '*' });
  if (etag === undefined) {
    const existing = await getJson<RunClaim>(s3, run.bucket, claimKey(run));
    // An invocation that failed released its claim; one that crashed is past its deadline.
    const abandoned =
      existing?.value.status === 'released' || (existing?.value.status === 'claimed' && Date.now() > Date.parse(existing.value.expiresAt));
    if (!existing || !abandoned) {
      log.info('report already claimed by another invocation', { manifest: uri, claimedAt: existing?.value.claimedAt });
      return { ...summary, status: 'duplicate' };
    }
    // Tasks queued twice are harmless: a part's lease lets one worker at a time publish it.
    claim.claimedAt = existing.value.claimedAt;
    etag = await putJson(s3, run.bucket, claimKey(run), claim, { ifMatch: existing.etag });
    if (etag === undefined) return { ...summary, status: 'duplicate' };
    status = 'resumed';
  }

  const tasks: PartTask[] = manifest.files.map((file, part) => ({
    manifest: location,
    run,
    sourceBucket: manifest.sourceBucket,
    part,
    parts: manifest.files.length,
    file,
    columns: manifest.columns,
    format: manifest.format,
    startRow: 0,
    sequence: 0,
    ...(baseline && { changedSince: baseline.changedSince }),
  }));
  try {
    await queueTasks(context.work, context.workQueueUrl, tasks);
  } catch (error) {
    // Let Lambda's retry of this event claim the report again; the error is what matters.
    await putJson(s3, run.bucket, claimKey(run), { ...claim, status: 'released' }, { ifMatch: etag }).catch(() => undefined);
    throw error;
  }
  await putJson(s3, run.bucket, claimKey(run), { ...claim, status: 'queued' }, { ifMatch: etag });
  log.info('inventory run started', { ...summary, status, ...(claim.baseline && { baseline: claim.baseline }) });
  // A report of an empty bucket has no data file: the run is complete at once.
  if (tasks.length === 0) await completeRunIfFinished(s3, { manifest: location, run, sourceBucket: manifest.sourceBucket, parts: 0 }, log);
  return { ...summary, status };
}

/** The announced manifest, at its key as given, or else at the key it decodes to. */
async function readAnnouncedManifest(
  s3: S3Client,
  { alternateKey, ...location }: AnnouncedManifest,
): Promise<{ location: S3Location; manifest: InventoryManifest }> {
  try {
    return { location, manifest: await fetchManifest(s3, location) };
  } catch (error) {
    // Without s3:ListBucket on the key, S3 answers a missing key with 403 rather than 404.
    const cause = (error as Error).cause ?? error;
    const missing = isNoSuchKey(cause) || httpStatusOf(cause) === 404 || httpStatusOf(cause) === 403;
    if (alternateKey === undefined || !missing) throw error;
    const alternate = { bucket: location.bucket, key: alternateKey };
    return { location: alternate, manifest: await fetchManifest(s3, alternate).catch(() => Promise.reject(error)) };
  }
}
