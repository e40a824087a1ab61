import { RunFailedError } from '../core/errors.ts';
import { InvocationMetrics } from '../core/metrics.ts';
import { RunStats } from '../core/run-stats.ts';
import { displayKey } from '../core/key-display.ts';
import type { KeyRange } from '../backfill/key-ranges.ts';
import { RangedListing, type SplitHandOff } from '../backfill/ranged-listing.ts';
import { KeyProbe, spanSplitPoints } from '../backfill/span-split.ts';
import { DiscardingSender } from '../publish/discarding-sender.ts';
import type { PipelineContext } from '../publish/pipeline.ts';
import type { PartLease } from './part-lease.ts';
import { queueTasks } from './part-task.ts';
import { MAX_RANGE_ID_LENGTH, pieceId, type RangeTask } from './range-task.ts';
import { publishInRun } from './rate-share.ts';
import type { RangeCheckpoint, RangePiece, WorkerContext } from './types.ts';

/** Pieces one split makes at most: a range's first full page fans out this wide, no wider. */
const MAX_PIECES_PER_SPLIT = 16;
/** A range that goes on splits again after this many more full pages (50,000 keys), while its budget lasts. */
const PAGES_BETWEEN_SPLITS = 50;

/** Thrown inside the listing when a save finds the lease taken over: the worker stops. */
class LeaseLostError extends Error {
  constructor() {
    super('another worker took the range over');
    this.name = 'LeaseLostError';
  }
}

/**
 * One invocation's work on a key range of a backfill whose lease it holds: it queues the pieces a
 * crashed holder recorded but may not have queued, then lists the range from its checkpoint
 * (the last key settled with all before it) and publishes, until the range ends, the budget runs
 * out or the lease is lost. A full page splits the rest of the range: the pieces are recorded in
 * the checkpoint, with their share of the range's budget, then queued for other workers, and
 * this one goes on to the first of them. Errors are kept in `failure`; the counters and the
 * checkpoint are final either way.
 */
export class RangeWork implements SplitHandOff {
  readonly task: RangeTask;
  readonly lease: PartLease<RangeCheckpoint>;
  readonly context: WorkerContext;
  readonly stats = new RunStats();
  readonly listing: RangedListing;
  readonly metrics: InvocationMetrics | undefined;
  failure: unknown;
  readonly #pipeline: PipelineContext;
  readonly #publishedBefore: number;
  #fullPages = 0;

  constructor(task: RangeTask, lease: PartLease<RangeCheckpoint>, context: WorkerContext, budget?: AbortSignal) {
    this.task = task;
    this.lease = lease;
    this.context = context;
    const { range, settledThrough, keysSettled, counters } = lease.checkpoint;
    // Keys that failed before are after the checkpoint, so they are sent again now.
    this.stats.restore({ ...counters, failed: 0, failedKeys: [] });
    this.#publishedBefore = this.stats.published;
    this.metrics = context.metrics && new InvocationMetrics(context.metrics, this.stats, context.log, { sourceBucket: task.sourceBucket });
    // A dry run lists and selects as a real one; its batches are counted, not sent.
    this.#pipeline = task.dryRun ? { ...context, sender: new DiscardingSender() } : context;
    const rest: KeyRange = { ...range, ...(settledThrough !== undefined && { startAfter: settledThrough }) };
    const where = {
      bucket: task.sourceBucket,
      prefix: task.prefix,
      ranges: [rest],
      ...(keysSettled !== undefined && { settledKeys: keysSettled }),
      ...(task.modifiedSince && { modifiedSince: new Date(task.modifiedSince) }),
      handOff: this,
    };
    const stop = budget ? AbortSignal.any([budget, lease.lostSignal]) : lease.lostSignal;
    this.listing = new RangedListing(where, this.#pipeline, this.stats, stop);
  }

  /** Messages published by this invocation. */
  get publishedNow(): number {
    return this.stats.published - this.#publishedBefore;
  }

  get failed(): boolean {
    return this.failure !== undefined || this.stats.failed > 0;
  }

  /** Listed to its end, every key settled. */
  get ended(): boolean {
    return this.listing.remaining().length === 0;
  }

  get hadKeys(): boolean {
    return this.lease.checkpoint.hadKeys === true || this.listing.rangesWithKeys > 0;
  }

  async run(): Promise<void> {
    const { lease, context, task } = this;
    lease.keepAlive(context.settings.checkpointIntervalMs, () => ({
      settledThrough: this.listing.settledThrough,
      keysSettled: this.listing.settledKeys,
      counters: this.stats.counters(),
      hadKeys: this.hadKeys,
    }));
    try {
      const { pending } = lease.checkpoint;
      if (pending && pending.length > 0) await this.#queue(pending);
      const worker = { run: task.run, owner: lease.checkpoint.owner };
      await publishInRun(this.listing.objects(), this.#pipeline, worker, this.stats, (object, done) => this.listing.settle(object, done));
    } catch (error) {
      if (!(error instanceof LeaseLostError)) this.failure = error;
    } finally {
      this.metrics?.end();
      await lease.stop();
    }
  }

  /**
   * Pieces this range may be cut into now (asked at each full page): on its first full page, then
   * every `PAGES_BETWEEN_SPLITS`, its budget less itself, a few at a time; none once its id is long.
   */
  room(): number {
    this.#fullPages += 1;
    if ((this.#fullPages - 1) % PAGES_BETWEEN_SPLITS !== 0 || this.task.id.length > MAX_RANGE_ID_LENGTH - 20) return 0;
    return Math.min(MAX_PIECES_PER_SPLIT, this.lease.checkpoint.budget - 1);
  }

  /** Where the keys left lie, probed with listing calls of one key each. */
  points(last: string, end: string | undefined, most: number): Promise<string[]> {
    const { sourceBucket, prefix } = this.task;
    const probe = new KeyProbe(this.context.s3, { bucket: sourceBucket, prefix, end });
    return spanSplitPoints(probe, last, end, most, [...prefix].length);
  }

  /**
   * Records the pieces and their budgets in the checkpoint before queueing them: a crash between
   * the two leaves them pending, and the next holder queues them. The range keeps the rest of its
   * budget and ends where the first piece starts.
   */
  async handOff(ranges: KeyRange[]): Promise<void> {
    const checkpoint = this.lease.checkpoint;
    const share = Math.floor(checkpoint.budget / (ranges.length + 1));
    const pieces = ranges.map(
      (range, index): RangePiece => ({ id: pieceId(checkpoint.id, checkpoint.children + index + 1), range, budget: share }),
    );
    const saved = await this.lease.save({
      range: { ...checkpoint.range, ...(ranges[0]?.startAfter !== undefined && { end: ranges[0].startAfter }) },
      children: checkpoint.children + pieces.length,
      budget: checkpoint.budget - share * pieces.length,
      pending: pieces,
    });
    if (!saved) throw new LeaseLostError();
    await this.#queue(pieces);
    this.context.log.info('range split', { range: checkpoint.id, pieces: pieces.length, at: displayKey(ranges[0]?.startAfter ?? '') });
  }

  async #queue(pieces: RangePiece[]): Promise<void> {
    const tasks = pieces.map((piece): RangeTask => ({ ...this.task, id: piece.id, range: piece.range, budget: piece.budget, sequence: 0 }));
    await queueTasks(this.context.work, this.context.settings.workQueueUrl, tasks);
    if (!(await this.lease.save({ pending: undefined }))) throw new LeaseLostError();
  }

  /** Saves where the work got to and frees the range; returns the error that fails the task. */
  async fail(): Promise<RunFailedError> {
    const { stats, task, failure } = this;
    const first = stats.failedKeys[0];
    const problem =
      failure instanceof Error ? failure.message : `${stats.failed} keys could not be published, first "${first?.key}": ${first?.reason}`;
    await this.lease.release(problem);
    const at = this.listing.settledThrough;
    const where = at === undefined ? 'at its start' : `after "${displayKey(at)}"`;
    return new RunFailedError(`range ${task.id} of backfill ${task.runId} stopped ${where}: ${problem}`, stats.counters(), {
      cause: failure,
    });
  }
}
