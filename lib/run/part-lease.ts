import type { S3Client } from '@aws-sdk/client-s3';
import type { Log } from '../core/types.ts';
import { getJson, putJson, type RunFolder } from './state.ts';
import type { LeaseRecord, PartCheckpoint } from './types.ts';

/** What a save records of the work: read from the running task at each save. */
export type Progress<C extends LeaseRecord> = () => Partial<C>;

/** What a task asks of the lease it takes: its checkpoint's key, its place in its chain, a first checkpoint. */
export interface LeaseClaim<C extends LeaseRecord> {
  key: string;
  sequence: number;
  first: (owner: string, now: string) => C;
  /** Why a checkpoint is not to be taken whatever its owner (a part split into shards), if so. */
  refuse?: (current: C) => string | undefined;
}

/**
 * A worker's hold on its work (a part, a shard of one, or a key range of a backfill): its
 * checkpoint object, written only with `If-Match` on the ETag of the worker's own last write. A
 * write that finds another ETag means another worker took the work over: the lease is then
 * `lost` (and `lostSignal` aborts), and nothing more is written.
 */
export class PartLease<C extends LeaseRecord = PartCheckpoint> {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #key: string;
  readonly #log: Log;
  #checkpoint: C;
  #etag: string;
  readonly #lost = new AbortController();
  #progress: Progress<C> | undefined;
  #saving: Promise<unknown> = Promise.resolve();
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  private constructor(s3: S3Client, run: RunFolder, key: string, held: { checkpoint: C; etag: string }, log: Log) {
    this.#s3 = s3;
    this.#bucket = run.bucket;
    this.#key = key;
    this.#checkpoint = held.checkpoint;
    this.#etag = held.etag;
    this.#log = log;
  }

  /**
   * Takes the lease: creates the checkpoint, or takes it over when it belongs to an earlier link of
   * the chain, to this same task (a retry), to nobody, or to a worker silent for longer than
   * `leaseMs`. Returns why not otherwise.
   */
  static async take<C extends LeaseRecord>(
    s3: S3Client,
    run: RunFolder,
    claim: LeaseClaim<C>,
    holder: { owner: string; leaseMs: number; log: Log },
  ): Promise<PartLease<C> | string> {
    const { key } = claim;
    const existing = await getJson<C>(s3, run.bucket, key);
    const now = new Date().toISOString();
    let held: { checkpoint: C; etag: string | undefined };
    if (!existing) {
      const checkpoint = claim.first(holder.owner, now);
      held = { checkpoint, etag: await putJson(s3, run.bucket, key, checkpoint, { ifNoneMatch: '*' }) };
      if (held.etag === undefined) return 'another worker started the work at the same moment';
    } else {
      const busy = claim.refuse?.(existing.value) ?? whyNotFree(existing.value, claim.sequence, holder);
      if (busy) return busy;
      const { lastError: _, ...current } = existing.value;
      const checkpoint = { ...current, owner: holder.owner, sequence: claim.sequence, handedOver: false, updatedAt: now } as C;
      held = { checkpoint, etag: await putJson(s3, run.bucket, key, checkpoint, { ifMatch: existing.etag }) };
      if (held.etag === undefined) return 'another worker took the work at the same moment';
    }
    return new PartLease<C>(s3, run, key, { checkpoint: held.checkpoint, etag: held.etag }, holder.log);
  }

  get checkpoint(): Readonly<C> {
    return this.#checkpoint;
  }

  /** Another worker took the work over: this one must stop, and write nothing more. */
  get lost(): boolean {
    return this.#lost.signal.aborted;
  }

  /** Aborts when the lease is lost. */
  get lostSignal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Saves the work's progress now and every `intervalMs`, until `stop()`. */
  keepAlive(intervalMs: number, progress: Progress<C>): void {
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
  save(changes: Partial<C> = {}): Promise<boolean> {
    const saved = this.#saving.then(() => this.#saveNow(changes));
    this.#saving = saved.catch(() => {});
    return saved;
  }

  /** Records the error and frees the part, so that the retry of the task can start at once. */
  async release(error: string): Promise<void> {
    await this.save({ lastError: error, owner: '' } as Partial<C>).catch(() => false);
  }

  async #saveNow(changes: Partial<C>): Promise<boolean> {
    if (this.lost) return false;
    const next: C = { ...this.#checkpoint, ...this.#progress?.(), updatedAt: new Date().toISOString(), ...changes };
    const etag = await putJson(this.#s3, this.#bucket, this.#key, next, { ifMatch: this.#etag });
    if (etag === undefined) {
      this.#lost.abort();
      this.#log.warn('another worker took the work over', { checkpoint: this.#key });
      return false;
    }
    this.#checkpoint = next;
    this.#etag = etag;
    return true;
  }
}

/** Why an existing checkpoint is not this task's to take, or undefined when it is. */
function whyNotFree(current: LeaseRecord, sequence: number, { owner, leaseMs }: { owner: string; leaseMs: number }): string | undefined {
  if (current.sequence > sequence) return `superseded by continuation ${current.sequence}`;
  if (current.sequence === sequence && current.handedOver) return 'the work was handed over to a continuation';
  const silentFor = Date.now() - Date.parse(current.updatedAt);
  const free = current.owner === '' || current.owner === owner || current.sequence < sequence || silentFor > leaseMs;
  return free ? undefined : `another worker holds the work (checkpoint saved ${Math.round(silentFor / 1000)} s ago)`;
}
