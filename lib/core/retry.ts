import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchResultErrorEntry } from '@aws-sdk/client-sqs';
import { SqsRequestError } from './errors.ts';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

export interface BackoffPolicy {
  /** Delay ceiling before the first retry; it doubles with each further attempt. */
  baseDelayMs: number;
  /** Largest delay between two attempts. */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseDelayMs: 100, maxDelayMs: 10_000 };

/**
 * Exponential backoff with "equal jitter": half the ceiling is always waited, the other half is
 * random, so concurrent senders spread out without ever retrying at once.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function waitBeforeRetry(retry: number, policy: BackoffPolicy): Promise<void> {
  return sleep(backoffDelay(retry, policy));
}

/** A whole request that failed for a reason that may pass: throttling, a 5xx, a network error. */
export function isRetryableRequestError(error: unknown): boolean {
  if (error instanceof SqsRequestError) return error.retryable;
  if (!(error instanceof Error)) return false;
  const sdkError = error as Parameters<typeof isTransientError>[0];
  return isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError);
}

/**
 * An entry inside a 200 response: SQS's fault, or throttling, which may arrive marked as the
 * sender's fault. Other sender faults (invalid content, too large) would fail again.
 */
export function isRetryableEntryFailure(entry: BatchResultErrorEntry): boolean {
  return entry.SenderFault !== true || /throttl/i.test(entry.Code ?? '');
}
