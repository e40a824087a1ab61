import type { S3Client } from '@aws-sdk/client-s3';
import { RunStats } from '../core/run-stats.ts';
import type { Log } from '../core/types.ts';
import type { PartTask } from './part-task.ts';
import { checkpointKey, getJson, putJson, type RunFolder } from './state.ts';
import type { PartCheckpoint } from './types.ts';

/** What a save records of the work: read from the running task at each save. */
export type Progress = () => Pick<PartCheckpoint, 'rowsDone' | 'counters'>;

/**
 * A worker's hold on a part (or a shard of one): its checkpoint object, written only with
 * `If-Match` on the ETag of the worker's own last write. A write that finds another ETag means
 * another worker took the part over: the lease is then `lost`, and nothing more is written.
 */
export class PartLease {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #key: string;
  readonly #log: Log;
  #checkpoint: PartCheckpoint;
  #etag: string;
  #lost = false;
  #progress: Progress | undefined;
  #saving: Promise<unknown> = Promise.resolve();
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  private constructor(s3: S3Client, run: RunFolder, key: string, held: { checkpoint: PartCheckpoint; etag: string }, log: Log) {
    this.#s3 = s3;
    this.#bucket = run.bucket;
    this.#key = key;
    this.#checkpoint = held.checkpoint;
    this.#etag = held.etag;
    this.#log = log;
  }

  /**
   * Takes the part's lease: creates its checkpoint, or takes it over when it belongs to an earlier
   * link of the chain, to this same task (a retry), to nobody, or to a worker silent for longer
   * than `leaseMs`. Returns why not otherwise.
   */
  static async take(
    s3: S3Client,
    run: RunFolder,
    task: PartTask,
    holder: { owner: string; leaseMs: number; log: Log },
  ): Promise<PartLease | string> {
    const key = checkpointKey(run, task.part, task.shard?.index);
    const existing = await getJson<PartCheckpoint>(s3, run.bucket, key);
    const now = new Date().toISOString();
    let held: { checkpoint: PartCheckpoint; etag: string | undefined };
    if (!existing) {
      const checkpoint = firstCheckpoint(task, holder.owner, now);
      held = { checkpoint, etag: await putJson(s3, run.bucket, key, checkpoint, { ifNoneMatch: '*' }) };
      if (held.etag === undefined) return 'another worker started the part at the same moment';
    } else {
      const busy = whyNotFree(existing.value, task, holder);
      if (busy) return busy;
      const { lastError: _, ...current } = existing.value;
      const checkpoint: PartCheckpoint = { ...current, owner: holder.owner, sequence: task.sequence, handedOver: false, updatedAt: now };
      held = { checkpoint, etag: await putJson(s3, run.bucket, key, checkpoint, { ifMatch: existing.etag }) };
      if (held.etag === undefined) return 'another worker took the part at the same moment';
    }
    return new PartLease(s3, run, key, { checkpoint: held.checkpoint, etag: held.etag }, holder.log);
  }

  get checkpoint(): Readonly<PartCheckpoint> {
    return this.#checkpoint;
  }

  /** Another worker took the part over: this one must stop, and write nothing more. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Saves the work's progress now and every `intervalMs`, until `stop()`. */
  keepAlive(intervalMs: number, progress: Progress): void {
    this.#progress = progress;
    this.#heartbeat = setInterval(() => {
      this.save().catch((error: unknown) => this.#log.warn('checkpoint not saved', { error: String(error) }));
    }, intervalMs);
  }

  /** Ends the heartbeat and waits for the saves under way. */
  async stop(): Promise<void> {
    clearInterval(this.#heartbeat);
    await this.#saving;
  }

  /**
   * Saves the checkpoint with the work's progress and `changes`, one save at a time, each with
   * `If-Match` on the ETag the one before it got; false when the lease is lost.
   */
  save(changes: Partial<PartCheckpoint> = {}): Promise<boolean> {
    const saved = this.#saving.then(() => this.#saveNow(changes));
    this.#saving = saved.catch(() => {});
    return saved;
  }

  /** Records the error and frees the part, so that the retry of the task can start at once. */
  async release(error: string): Promise<void> {
    await this.save({ lastError: error, owner: '' }).catch(() => false);
  }

  async #saveNow(changes: Partial<PartCheckpoint>): Promise<boolean> {
    if (this.#lost) return false;
    const next: PartCheckpoint = { ...this.#checkpoint, ...this.#progress?.(), updatedAt: new Date().toISOString(), ...changes };
    const etag = await putJson(this.#s3, this.#bucket, this.#key, next, { ifMatch: this.#etag });
    if (etag === undefined) {
      this.#lost = true;
      this.#log.warn('another worker took the part over', { checkpoint: this.#key });
      return false;
    }
    this.#checkpoint = next;
    this.#etag = etag;
    return true;
  }
}

function firstCheckpoint(task: PartTask, owner: string, now: string): PartCheckpoint {
  return {
    part: task.part,
    ...(task.shard && { shard: task.shard.index, verified: task.shard.verified }),
    file: task.file.key,
    owner,
    sequence: task.sequence,
    rowsDone: task.startRow,
    counters: new RunStats().counters(),
    continuations: task.sequence,
    startedAt: now,
    updatedAt: now,
  };
}

/** Why an existing checkpoint is not this task's to take, or undefined when it is. */
function whyNotFree(current: PartCheckpoint, task: PartTask, { owner, leaseMs }: { owner: string; leaseMs: number }): string | undefined {
  if (current.shards !== undefined) return `the part was split into ${current.shards} shards`;
  if (current.sequence > task.sequence) return `superseded by continuation ${current.sequence}`;
  if (current.sequence === task.sequence && current.handedOver) return 'the part was handed over to a continuation';
  const silentFor = Date.now() - Date.parse(current.updatedAt);
  const free = current.owner === '' || current.owner === owner || current.sequence < task.sequence || silentFor > leaseMs;
  return free ? undefined : `another worker holds the part (checkpoint saved ${Math.round(silentFor / 1000)} s ago)`;
}
