import { RunFailedError } from '../core/errors.ts';
import { InvocationMetrics } from '../core/metrics.ts';
import { RunStats } from '../core/run-stats.ts';
import { formatS3Uri } from '../core/s3-location.ts';
import { dataFileFormat } from '../inventory/formats.ts';
import type { DataFile } from '../inventory/data-file.ts';
import { TrackedRead } from '../inventory/tracked-read.ts';
import { otherBucketProblem } from '../publish/pipeline.ts';
import type { PartLease } from './part-lease.ts';
import { queueTasks, type PartTask } from './part-task.ts';
import { publishInRun } from './rate-share.ts';
import { withoutPublishedLive } from '../live/live-record.ts';
import { readCompactedRecord } from '../live/live-window.ts';
import { shardTasks } from './shards.ts';
import type { WorkerContext } from './types.ts';

/**
 * How far past its budget a read may go on skipping to its start row (gzip cannot seek, and a
 * skip has no row to stop at): within the minute the budget keeps in reserve, so that a skip too
 * deep for one invocation fails by name instead of being cut off by Lambda's timeout.
 */
const SKIP_OVERRUN_MS = 20_000;

/** True once `budget` has been aborted for longer than `graceMs`. */
function overrunBy(budget: AbortSignal | undefined, graceMs: number): () => boolean {
  let abortedAt: number | undefined;
  budget?.addEventListener('abort', () => (abortedAt = Date.now()), { once: true });
  return () => abortedAt !== undefined && Date.now() - abortedAt > graceMs;
}

/** The part (and shard, if any) and link of the chain a task is: the fields every log line names. */
export type TaskLabel = { part: number; shard?: number; sequence: number };

export function taskLabel(task: PartTask): TaskLabel {
  return { part: task.part, ...(task.shard && { shard: task.shard.index }), sequence: task.sequence };
}

/**
 * One invocation's work on a part whose lease it holds: the integrity pass and the split into
 * shards on the part's first task, else publishing from the checkpoint on until the file or the
 * shard ends, the budget runs out, or the lease is lost. Errors are kept in `failure` for the
 * outcome to report: the counters and the checkpoint are final either way.
 */
export class PartWork {
  readonly task: PartTask;
  readonly lease: PartLease;
  readonly context: WorkerContext;
  readonly label: TaskLabel;
  readonly stats = new RunStats();
  readonly read: TrackedRead;
  readonly metrics: InvocationMetrics | undefined;
  /** Set when the part's first task split the file: the shards' tasks, queued. */
  shards: PartTask[] | undefined;
  failure: unknown;
  readonly #dataFile: DataFile;
  readonly #publishedBefore: number;

  constructor(task: PartTask, lease: PartLease, context: WorkerContext, budget?: AbortSignal) {
    this.task = task;
    this.lease = lease;
    this.context = context;
    this.label = taskLabel(task);
    const startRow = Math.max(task.startRow, lease.checkpoint.rowsDone);
    // Keys that failed before are at or after the checkpoint, so they are sent again now.
    this.stats.restore({ ...lease.checkpoint.counters, failed: 0, failedKeys: [] });
    this.#publishedBefore = this.stats.published;
    this.metrics = context.metrics && new InvocationMetrics(context.metrics, this.stats, context.log, { sourceBucket: task.sourceBucket });
    this.#dataFile = { bucket: task.manifest.bucket, sourceBucket: task.sourceBucket, file: task.file, columns: task.columns };
    // The budget is honoured once this invocation has got past a row (sent or skipped), so that
    // every link of a chain makes progress whatever its budget (the check of the file may have
    // used it up); the row where it stops is left for the continuation.
    const shouldStop = (row: number) => lease.lost || (budget?.aborted === true && row > startRow + 1);
    const outOfTime = overrunBy(budget, SKIP_OVERRUN_MS);
    const range = { startRow, ...(task.shard?.lastRow !== undefined && { lastRow: task.shard.lastRow }), shouldStop, outOfTime };
    this.read = new TrackedRead({ s3: context.s3, format: dataFileFormat(task.format), file: this.#dataFile }, this.stats, range);
  }

  /** Messages published by this invocation. */
  get publishedNow(): number {
    return this.stats.published - this.#publishedBefore;
  }

  get failed(): boolean {
    return this.failure !== undefined || this.stats.failed > 0 || this.stats.skipped.otherBucket > 0;
  }

  /**
   * No row is published before the file's size and MD5 matched the manifest: once per part, by
   * its first task, which also splits a big file into shards (never one partly published).
   */
  async run(): Promise<void> {
    const { lease, context, task } = this;
    lease.keepAlive(context.settings.checkpointIntervalMs, () => ({
      rowsDone: this.read.watermark.rowsDone,
      counters: this.stats.counters(),
    }));
    try {
      if (!lease.checkpoint.verified)
        await lease.save({ verified: await dataFileFormat(task.format).verify(context.s3, this.#dataFile, this.stats) });
      const { verified } = lease.checkpoint;
      if (!task.shard && verified && lease.checkpoint.rowsDone === 0) this.shards = shardTasks(task, verified, context.settings.shardRows);
      if (this.shards) await queueTasks(context.work, context.settings.workQueueUrl, this.shards);
      else if (!lease.lost) await this.#publish(verified?.etag);
    } catch (error) {
      this.failure = error;
    } finally {
      this.metrics?.end();
      await lease.stop();
    }
  }

  /** Saves where the work got to and frees the part; returns the error that fails the task. */
  async fail(): Promise<RunFailedError> {
    const { stats, task, failure } = this;
    const first = stats.failedKeys[0];
    const problem =
      failure instanceof Error
        ? failure.message
        : stats.failed > 0
          ? `${stats.failed} keys could not be published, first "${first?.key}": ${first?.reason}`
          : otherBucketProblem(stats.skipped.otherBucket, stats.otherBuckets);
    await this.lease.release(problem);
    const which = `part ${task.part}${task.shard ? ` shard ${task.shard.index}` : ''} of ${formatS3Uri(task.manifest)}`;
    return new RunFailedError(`${which} stopped at row ${this.read.watermark.rowsDone}: ${problem}`, stats.counters(), { cause: failure });
  }

  async #publish(etag: string | undefined): Promise<void> {
    const { context, task } = this;
    const selection = {
      // A run that skips what the live path published compares each row's ETag.
      fields: task.liveRecord === undefined ? context.config.readFields : [...new Set([...context.config.readFields, 'etag' as const])],
      ...(task.changedSince !== undefined && { changedSince: Date.parse(task.changedSince) }),
    };
    const owner = this.lease.checkpoint.owner;
    let batches = this.read.batches(selection, etag);
    if (task.liveRecord !== undefined) {
      const published = await readCompactedRecord(context.s3, { bucket: task.run.bucket, key: task.liveRecord });
      batches = withoutPublishedLive(batches, published, (object) => {
        this.stats.skip('publishedLive');
        this.read.settle(object, true);
      });
    }
    await publishInRun(batches, context, { run: task.run, owner }, this.stats, (object, done) => this.read.settle(object, done));
  }
}
