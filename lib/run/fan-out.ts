import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { loadSelection, publishesChanges, type Selection } from '../core/config.ts';
import { fetchManifest, type InventoryManifest, type ManifestFile, requireColumns } from '../inventory/manifest.ts';
import type { AnnouncedManifest } from '../inventory/s3-event.ts';
import { findBaseline } from './baseline.ts';
import { queueTasks, type PartTask } from './part-task.ts';
import { completeRunIfFinished } from './completion.ts';
import { claimKey, getJson, putJson, type RunFolder, type RunStateStore, runFolder } from './state.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import type { Log, S3Location } from '../core/types.ts';
import { httpStatusOf, isNoSuchKey } from '../core/aws-errors.ts';
import type { Baseline, RunClaim } from './types.ts';
import { type CompactedRecord, compactLiveRecords, type LiveRecordStore } from '../live/live-window.ts';

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
  /** `missed` mode: where the live path records what it published. */
  liveRecords?: LiveRecordStore;
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
  const publishMode = context.selection?.publishMode;
  const changedOnly = publishesChanges(publishMode);
  // A report without the columns the run needs is refused before anything is queued.
  requireColumns(manifest, context.selection ?? loadSelection({}));
  const baseline = changedOnly
    ? await findBaseline(s3, location, context.selection?.changedMarginHours ?? 0, context.stateStore)
    : undefined;
  const dryRun = context.selection?.dryRun === true;
  const run = runFolder(location, context.stateStore, dryRun);
  const uri = formatS3Uri(location);
  const summary = { manifest: uri, sourceBucket: manifest.sourceBucket, parts: manifest.files.length };
  const claim: RunClaim = {
    ...summary,
    claimedAt: new Date().toISOString(),
    expiresAt: new Date(context.deadline).toISOString(),
    status: 'claimed',
    ...(changedOnly && { baseline: baseline ?? 'none' }),
    ...(dryRun && { dryRun: true }),
  };

  const live =
    publishMode === 'missed' && baseline && context.liveRecords
      ? await compactLive(s3, context.liveRecords, run, manifest.sourceBucket, baseline)
      : undefined;
  if (live) claim.liveRecord = live.compacted;
  const taken = await takeClaim(s3, run, claim, uri, log);
  if (!taken) return { ...summary, status: 'duplicate' };
  const task = (part: number): PartTask => ({
    manifest: location,
    run,
    sourceBucket: manifest.sourceBucket,
    part,
    parts: manifest.files.length,
    file: manifest.files[part] as ManifestFile,
    columns: manifest.columns,
    format: manifest.format,
    startRow: 0,
    sequence: 0,
    ...(baseline && { changedSince: baseline.changedSince }),
    ...(live?.key && { liveRecord: live.key }),
  });
  const fanOut = new TaskFanOut(context, { run, claim: taken.claim, etag: taken.etag }, task, manifest.files.length);
  await fanOut.queueFrom(taken.claim.queued ?? 0);
  log.info('inventory run started', { ...summary, status: taken.status, ...(claim.baseline && { baseline: claim.baseline }) });
  // A report of an empty bucket has no data file: the run is complete at once.
  if (manifest.files.length === 0)
    await completeRunIfFinished(s3, { manifest: location, run, sourceBucket: manifest.sourceBucket, parts: 0 }, log);
  return { ...summary, status: taken.status };
}

/**
 * Claims the run: created if absent; taken over when the invocation that held it failed (released)
 * or ran past its deadline, keeping how far its tasks were queued. Undefined: another holds it.
 */
async function takeClaim(
  s3: S3Client,
  run: RunFolder,
  claim: RunClaim,
  uri: string,
  log: Log,
): Promise<{ etag: string; status: 'started' | 'resumed'; claim: RunClaim } | undefined> {
  const created = await putJson(s3, run.bucket, claimKey(run), claim, { ifNoneMatch: '*' });
  if (created !== undefined) return { etag: created, status: 'started', claim };
  const existing = await getJson<RunClaim>(s3, run.bucket, claimKey(run));
  const abandoned =
    existing?.value.status === 'released' || (existing?.value.status === 'claimed' && Date.now() > Date.parse(existing.value.expiresAt));
  if (!existing || !abandoned) {
    log.info('report already claimed by another invocation', { manifest: uri, claimedAt: existing?.value.claimedAt });
    return undefined;
  }
  // Tasks queued twice are harmless: a part's lease lets one worker at a time publish it.
  const resumed: RunClaim = {
    ...claim,
    claimedAt: existing.value.claimedAt,
    ...(existing.value.queued && { queued: existing.value.queued }),
  };
  const etag = await putJson(s3, run.bucket, claimKey(run), resumed, { ifMatch: existing.etag });
  return etag === undefined ? undefined : { etag, status: 'resumed', claim: resumed };
}

/** Parts queued between two saves of the claim's progress. */
const PROGRESS_EVERY = 5_000;
/** Time kept back from the deadline to save the progress and hand over. */
const FAN_OUT_RESERVE_MS = 15_000;

/**
 * Queues the tasks of a run's parts, a window at a time in SendMessageBatch calls, saving in the
 * claim how far it got after each window. Near its deadline it saves and fails: Lambda's retry of
 * the event takes the claim over and resumes at the first part not queued, not at part 0.
 */
class TaskFanOut {
  readonly #context: FanOutContext;
  readonly #state: { run: RunFolder; claim: RunClaim; etag: string };
  readonly #task: (part: number) => PartTask;
  readonly #parts: number;

  constructor(
    context: FanOutContext,
    state: { run: RunFolder; claim: RunClaim; etag: string },
    task: (part: number) => PartTask,
    parts: number,
  ) {
    this.#context = context;
    this.#state = state;
    this.#task = task;
    this.#parts = parts;
  }

  async queueFrom(first: number): Promise<void> {
    const { work, workQueueUrl, deadline } = this.#context;
    let from = first;
    try {
      while (from < this.#parts) {
        if (Date.now() > deadline - FAN_OUT_RESERVE_MS) {
          await this.#save({ status: 'released', queued: from });
          throw new FanOutIncompleteError(
            `queued the tasks of parts 0 to ${from - 1} of ${this.#parts} before the time ran out; the retry of this event queues the rest`,
          );
        }
        const to = Math.min(this.#parts, from + PROGRESS_EVERY);
        await queueTasks(work, workQueueUrl, this.#tasks(from, to));
        from = to;
        if (from < this.#parts) await this.#save({ queued: from });
      }
    } catch (error) {
      // Let Lambda's retry of this event take the claim over, from the parts already queued.
      if (!(error instanceof FanOutIncompleteError)) await this.#save({ status: 'released', queued: from }).catch(() => undefined);
      throw error;
    }
    await this.#save({ status: 'queued', queued: from });
  }

  *#tasks(from: number, to: number): Generator<PartTask> {
    for (let part = from; part < to; part += 1) yield this.#task(part);
  }

  async #save(change: Partial<RunClaim>): Promise<void> {
    const { s3 } = this.#context;
    const { run } = this.#state;
    this.#state.claim = { ...this.#state.claim, ...change };
    const etag = await putJson(s3, run.bucket, claimKey(run), this.#state.claim, { ifMatch: this.#state.etag });
    if (etag === undefined) throw new Error(`the claim of ${this.#state.claim.manifest} was taken over by another invocation`);
    this.#state.etag = etag;
  }
}

/** The fan-out ran out of time: the retry of the event resumes it. */
export class FanOutIncompleteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FanOutIncompleteError';
  }
}

/**
 * `missed` mode: what the live path published since the baseline's scan (less the margin), as one
 * sorted record in the run's folder; none when the window holds more than the bound.
 */
async function compactLive(
  s3: S3Client,
  store: LiveRecordStore,
  run: RunFolder,
  sourceBucket: string,
  baseline: Baseline,
): Promise<{ compacted: CompactedRecord; key?: string }> {
  const key = `${run.prefix}live-published.bin`;
  const window = { sourceBucket, since: new Date(baseline.changedSince), until: new Date() };
  const compacted = await compactLiveRecords(s3, store, window, { bucket: run.bucket, key });
  return { compacted, ...(!compacted.overBound && { key }) };
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
