import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { RunStats } from '../core/run-stats.ts';
import type { Log, ObjectRef } from '../core/types.ts';
import { type PipelineContext, publishAll } from '../publish/pipeline.ts';
import { RateLimiter } from '../publish/rate-limiter.ts';
import type { LivePublish } from '../live/live-publish.ts';
import type { LiveRecordStore } from '../live/live-window.ts';
import { putJson, type RunFolder } from './state.ts';

/** How often a worker says it is publishing, and counts the others: a share follows them within this. */
const BEAT_MS = 2_000;
/** How long a joining worker waits for the workers that start with it to say so. */
const JOIN_SETTLE_MS = 300;

/**
 * A worker's share of its run's messages-per-second cap: the cap divided by the workers of the run
 * publishing now. Each says so every two seconds in `rate/<period>/<owner>.json` (periods of four
 * seconds, so that a listing holds only the workers of the last two periods, however long the run)
 * and `….stopped` when it ends; each then lists the last two periods and sets its limiter to the
 * cap over the workers it found that have not stopped. A worker that dies stops counting within
 * two periods; until then the others publish a little below the cap, never above it.
 */
export class RateShare {
  readonly #s3: S3Client;
  readonly #run: RunFolder;
  readonly #owner: string;
  readonly #cap: number;
  readonly #limiter: RateLimiter;
  readonly #log: Log;
  #timer: ReturnType<typeof setInterval> | undefined;

  private constructor(s3: S3Client, run: RunFolder, owner: string, share: { cap: number; limiter: RateLimiter }, log: Log) {
    this.#s3 = s3;
    this.#run = run;
    this.#owner = owner;
    this.#cap = share.cap;
    this.#limiter = share.limiter;
    this.#log = log;
  }

  /**
   * Joins the run's workers, sets the first share, and keeps it up to date until `stop()`. Workers
   * start together: each counts the others twice, a moment apart, before it publishes, so that
   * none begins at a share the workers that joined with it make too large.
   */
  static async join(
    s3: S3Client,
    run: RunFolder,
    owner: string,
    share: { cap: number; limiter: RateLimiter },
    log: Log,
  ): Promise<RateShare> {
    const joined = new RateShare(s3, run, owner, share, log);
    await joined.#beat();
    await sleep(JOIN_SETTLE_MS);
    await joined.#beat();
    joined.#timer = setInterval(() => {
      joined.#beat().catch((error: unknown) => log.warn('rate share not updated', { error: String(error) }));
    }, BEAT_MS);
    return joined;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await putJson(this.#s3, this.#run.bucket, this.#key('stopped'), { owner: this.#owner }).catch(() => undefined);
  }

  async #beat(): Promise<void> {
    await putJson(this.#s3, this.#run.bucket, this.#key('json'), { owner: this.#owner, at: new Date().toISOString() });
    const period = RateShare.#period();
    const keys = [...(await this.#list(period - 1)), ...(await this.#list(period))];
    const stopped = new Set(keys.filter((key) => key.endsWith('.stopped')).map(ownerOf));
    const active = new Set(
      keys
        .filter((key) => key.endsWith('.json'))
        .map(ownerOf)
        .filter((owner) => !stopped.has(owner)),
    );
    this.#limiter.rate = this.#cap / Math.max(1, active.size);
    this.#log.debug('rate share', { workers: active.size, perSecond: this.#limiter.rate });
  }

  async #list(period: number): Promise<string[]> {
    const prefix = `${this.#run.prefix}rate/${period}/`;
    const { Contents = [] } = await this.#s3.send(new ListObjectsV2Command({ Bucket: this.#run.bucket, Prefix: prefix }));
    return Contents.map((object) => object.Key ?? '');
  }

  #key(ending: 'json' | 'stopped'): string {
    return `${this.#run.prefix}rate/${RateShare.#period()}/${encodeURIComponent(this.#owner)}.${ending}`;
  }

  static #period(): number {
    return Math.floor(Date.now() / (2 * BEAT_MS));
  }
}

/** The owner a rate key names: its file name, without the ending. */
function ownerOf(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1).replace(/\.(json|stopped)$/, '');
}

/**
 * `publishAll` for one invocation of a run's workers (a part, a shard, a key range): with a cap,
 * at this worker's share of it while it publishes.
 */
export async function publishInRun<T extends ObjectRef>(
  keys: AsyncIterable<readonly T[]>,
  context: PipelineContext,
  worker: { run: RunFolder; owner: string },
  stats: RunStats,
  onSettled: (object: T, done: boolean) => void,
): Promise<void> {
  const cap = context.config.maxMessagesPerSecond;
  const limiter = cap ? new RateLimiter(cap) : undefined;
  const share = cap && limiter ? await RateShare.join(context.s3, worker.run, worker.owner, { cap, limiter }, context.log) : undefined;
  try {
    await publishAll(keys, limiter ? { ...context, limiter } : context, stats, onSettled);
  } finally {
    await share?.stop();
  }
}

/**
 * The live function's publishing under a messages-per-second cap: its invocations publishing at
 * once share the cap as a run's workers do, in `<record prefix>_publishers/` of the stack's
 * bucket, each one an owner for its batch. Sends in flight are few (about a tenth of a second of
 * the cap), so that what waits for tokens when the invocation's deadline comes is sent soon after.
 */
export function publishSharingCap(store: LiveRecordStore): LivePublish {
  return async (keys, context, stats, onSettled) => {
    const cap = context.config.maxMessagesPerSecond;
    if (!cap) return publishAll(keys, context, stats, onSettled);
    const concurrency = Math.max(1, Math.min(context.config.concurrency, Math.ceil(cap / 100)));
    const worker = { run: { bucket: store.bucket, prefix: `${store.prefix}_publishers/` }, owner: randomUUID() };
    await publishInRun(keys, { ...context, config: { ...context.config, concurrency } }, worker, stats, onSettled);
  };
}
