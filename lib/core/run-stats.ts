import type { FailedKey } from './errors.ts';
import { displayKey } from './key-display.ts';
import { SKIP_REASONS, type ObjectRef, type SkipReason } from './types.ts';

/** How many examples of failed or malformed keys a run keeps: enough to act on, bounded in memory. */
export const SAMPLE_LIMIT = 100;
const OTHER_BUCKETS_KEPT = 5;

/**
 * Counters of one run, shared by the key source and the publisher so a progress display can read
 * them while the run goes on.
 */
export class RunStats {
  readonly startedAt = Date.now();
  /** Inventory rows or listed keys seen. */
  rowsRead = 0;
  /** Compressed bytes of inventory data files read so far, and in all (0 when unknown). */
  bytesRead = 0;
  bytesTotal = 0;
  published = 0;
  failed = 0;
  /** Messages sent again after a throttled, failed or rejected attempt. */
  retries = 0;
  /** SendMessageBatch calls SQS answered, and the requests it bills for them (one per 64 KiB of a call). */
  sends = 0;
  sqsRequests = 0;
  /** Downloads of data files that broke off or stalled and were resumed where they stopped. */
  downloadResumes = 0;
  /** Messages handed to the publisher whose fate is not known yet (in a batch, or in flight). */
  pending = 0;
  readonly skipped: Record<SkipReason, number> = Object.fromEntries(SKIP_REASONS.map((reason) => [reason, 0])) as Record<
    SkipReason,
    number
  >;
  readonly failedKeys: FailedKey[] = [];
  readonly malformedKeys: string[] = [];
  /** The buckets, other than the report's own, that its rows named (the first few). */
  readonly otherBuckets: string[] = [];

  /** Adds the counters of earlier invocations that worked on the same part. */
  restore(previous: Omit<StatsSummary, 'durationMs'>): void {
    this.rowsRead += previous.rowsRead;
    this.published += previous.published;
    this.failed += previous.failed;
    this.retries += previous.retries;
    this.sends += previous.sends ?? 0;
    this.sqsRequests += previous.sqsRequests ?? 0;
    this.downloadResumes += previous.downloadResumes ?? 0;
    for (const reason of SKIP_REASONS) this.skipped[reason] += previous.skippedByReason[reason] ?? 0;
    this.failedKeys.push(...(previous.failedKeys ?? []).slice(0, SAMPLE_LIMIT - this.failedKeys.length));
    this.malformedKeys.push(...(previous.malformedKeys ?? []).slice(0, SAMPLE_LIMIT - this.malformedKeys.length));
    for (const bucket of previous.otherBuckets ?? []) this.#noteOtherBucket(bucket);
  }

  skip(reason: SkipReason): void {
    this.skipped[reason] += 1;
  }

  recordMalformedKey(rawKey: string): void {
    this.skip('malformedKey');
    if (this.malformedKeys.length < SAMPLE_LIMIT) this.malformedKeys.push(displayKey(rawKey));
  }

  /** A row that names `bucket`, not the report's source bucket: skipped, named, and the run fails. */
  recordOtherBucket(bucket: string): void {
    this.skip('otherBucket');
    this.#noteOtherBucket(displayKey(bucket));
  }

  #noteOtherBucket(bucket: string): void {
    if (this.otherBuckets.length < OTHER_BUCKETS_KEPT && !this.otherBuckets.includes(bucket)) this.otherBuckets.push(bucket);
  }

  /** Keys are kept as shown, shortened: a summary never holds a key of a megabyte. */
  recordFailure(object: ObjectRef, reason: string): void {
    this.failed += 1;
    if (this.failedKeys.length < SAMPLE_LIMIT) this.failedKeys.push({ bucket: object.bucket, key: displayKey(object.key), reason });
  }

  recordResume(): void {
    this.downloadResumes += 1;
  }

  /**
   * Keys read that were neither published, skipped, failed nor in flight: read past when the run
   * broke off (SQS refused every call, a Ctrl-C) and never handed to SQS. A continuation covers them.
   */
  get unsent(): number {
    return this.rowsRead - this.published - this.skippedTotal - this.failed - this.pending;
  }

  get skippedTotal(): number {
    return SKIP_REASONS.reduce((total, reason) => total + this.skipped[reason], 0);
  }

  /** The counters without the duration: what a checkpoint keeps of a part. */
  counters(): Omit<StatsSummary, 'durationMs'> {
    const { durationMs: _, ...counters } = this.toJSON();
    return counters;
  }

  /** The counters as a plain object for logs, JSON output and return values. */
  toJSON(): StatsSummary {
    return {
      rowsRead: this.rowsRead,
      published: this.published,
      skipped: this.skippedTotal,
      skippedByReason: { ...this.skipped },
      failed: this.failed,
      ...(this.unsent > 0 && { unsent: this.unsent }),
      retries: this.retries,
      ...(this.sends > 0 && { sends: this.sends, sqsRequests: this.sqsRequests }),
      durationMs: Date.now() - this.startedAt,
      ...(this.downloadResumes > 0 && { downloadResumes: this.downloadResumes }),
      ...(this.failedKeys.length > 0 && { failedKeys: [...this.failedKeys] }),
      ...(this.malformedKeys.length > 0 && { malformedKeys: [...this.malformedKeys] }),
      ...(this.otherBuckets.length > 0 && { otherBuckets: [...this.otherBuckets] }),
    };
  }
}

export interface StatsSummary {
  rowsRead: number;
  published: number;
  skipped: number;
  skippedByReason: Record<SkipReason, number>;
  failed: number;
  /** Keys read but never handed to SQS (absent when none): rowsRead = published + skipped + failed + unsent. */
  unsent?: number;
  retries: number;
  /** SendMessageBatch calls SQS answered (absent when none), and the requests it bills for them. */
  sends?: number;
  sqsRequests?: number;
  durationMs: number;
  /** Data file downloads resumed after they broke off or stalled (absent when none). */
  downloadResumes?: number;
  /** The first failed keys, with the reason SQS gave. */
  failedKeys?: FailedKey[];
  /** The first keys whose URL-encoding could not be decoded, as they appear in the report. */
  malformedKeys?: string[];
  /** The first buckets other than the report's source bucket that its rows named. */
  otherBuckets?: string[];
}
