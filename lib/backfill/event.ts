import type { BackfillContinuation, BackfillRequest } from './job.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { displayKey } from '../core/key-display.ts';
import { compareUtf8 } from '../core/utf8-order.ts';
import type { KeyRange } from './key-ranges.ts';

/** What `sls invoke -f backfill --data '{…}'` may pass. */
export interface BackfillEvent {
  /** Defaults to the stack's source bucket. */
  bucket?: string;
  prefix?: string;
  /** List and select as a real run, publish nothing: say what it would send and cost. */
  dryRun?: boolean;
  /** ISO 8601: only objects modified at or after this time are published. */
  modifiedSince?: string;
}

/** The CLI's backfill, in one process, takes these as well. */
export interface InProcessBackfillEvent extends BackfillEvent {
  /** From the summary of a run that stopped before the end. */
  continuation?: BackfillContinuation;
  /** Stop after this long. */
  timeBudgetMs?: number;
}

export interface ParsedBackfillEvent extends BackfillRequest {
  timeBudgetMs?: number;
  dryRun?: boolean;
}

/** Fields of the CLI's in-process backfill, or of the function before it fanned out, that a run of the workers has no use for. */
const IN_PROCESS_ONLY = ['continuation', 'timeBudgetMs', 'chain', 'invocation'] as const;

/**
 * Validates the backfill function's payload: the workers' run needs no continuation (its ranges
 * continue on their own), and one passed by habit is refused by name rather than ignored.
 */
export function parseBackfillRunEvent(event: unknown, defaultBucket: string | undefined): ParsedBackfillEvent {
  const input = (event ?? {}) as Record<string, unknown>;
  const stray = IN_PROCESS_ONLY.find((field) => typeof input === 'object' && input[field] !== undefined);
  if (stray) {
    throw invalid(
      `"${stray}" belongs to the CLI's in-process backfill (npm run cli -- backfill): the function plans a run that the workers list, split and continue on their own`,
    );
  }
  return parseBackfillEvent(event, defaultBucket);
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Validates an invocation's payload; errors name the field. */
export function parseBackfillEvent(event: unknown, defaultBucket: string | undefined): ParsedBackfillEvent {
  // An invocation without a payload (`sls invoke` with no --data) means: all defaults.
  const input = (event === undefined || event === null || event === '' ? {} : event) as Record<string, unknown>;
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('the event must be a JSON object');
  const continuation = input.continuation === undefined ? undefined : parseContinuation(input.continuation);
  const bucket = optionalString(input, 'bucket') ?? continuation?.bucket ?? defaultBucket;
  if (!bucket) throw invalid('"bucket" is required: no SOURCE_BUCKET is configured to default to');
  if (!BUCKET_NAME.test(bucket)) throw invalid(`"bucket" "${bucket}" is not a valid bucket name`);
  if (continuation && continuation.bucket !== bucket) {
    throw invalid(`"continuation" belongs to bucket "${continuation.bucket}", not "${bucket}"`);
  }
  const prefix = optionalString(input, 'prefix');
  if (continuation && prefix !== undefined && prefix !== continuation.prefix) {
    throw invalid(`"continuation" belongs to prefix "${continuation.prefix}", not "${prefix}"`);
  }
  const timeBudgetMs = optionalInteger(input, 'timeBudgetMs', 1);
  if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') throw invalid('"dryRun" must be true or false');
  const since = optionalString(input, 'modifiedSince');
  if (since !== undefined && Number.isNaN(Date.parse(since))) throw invalid(`"modifiedSince" "${since}" is not an ISO 8601 time`);
  return {
    bucket,
    ...(prefix !== undefined && { prefix }),
    ...(continuation && { continuation }),
    ...(timeBudgetMs !== undefined && { timeBudgetMs }),
    ...(input.dryRun === true && { dryRun: true }),
    ...(since !== undefined && { modifiedSince: new Date(since) }),
  };
}

function parseContinuation(value: unknown): BackfillContinuation {
  const continuation = value as Partial<BackfillContinuation>;
  if (
    typeof continuation !== 'object' ||
    continuation === null ||
    typeof continuation.bucket !== 'string' ||
    typeof continuation.prefix !== 'string' ||
    !Array.isArray(continuation.ranges) ||
    !continuation.ranges.every(isKeyRange)
  ) {
    throw invalid('"continuation" must be the continuation object returned by a previous run, unchanged');
  }
  checkRanges(continuation as BackfillContinuation);
  return continuation as BackfillContinuation;
}

/**
 * The ranges of a continuation must still cover distinct parts of the key space, in order, under
 * its prefix: overlapping ranges would publish keys twice, an inverted one nothing.
 */
function checkRanges({ prefix, ranges }: BackfillContinuation): void {
  if (ranges.length === 0) throw invalid('"continuation" has no ranges: a finished run returns none');
  ranges.forEach((range, index) => {
    const name = `"continuation" range ${index + 1} of ${ranges.length}`;
    for (const bound of [range.startAfter, range.end]) {
      if (bound !== undefined && !bound.startsWith(prefix))
        throw invalid(`${name} bound "${displayKey(bound)}" is not under the prefix "${prefix}"`);
    }
    if (range.startAfter !== undefined && range.end !== undefined && compareUtf8(range.startAfter, range.end) >= 0) {
      throw invalid(
        `${name} is empty or inverted: it starts after "${displayKey(range.startAfter)}" and ends at "${displayKey(range.end)}"`,
      );
    }
    const next = ranges[index + 1];
    if (!next) return;
    if (range.end === undefined || next.startAfter === undefined || compareUtf8(range.end, next.startAfter) > 0) {
      throw invalid(`${name} overlaps the next one, or they are out of order: ranges must be ordered and disjoint`);
    }
  });
}

function isKeyRange(value: unknown): value is KeyRange {
  if (typeof value !== 'object' || value === null) return false;
  const { startAfter, end } = value as Record<string, unknown>;
  return (startAfter === undefined || typeof startAfter === 'string') && (end === undefined || typeof end === 'string');
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`"${field}" must be a string`);
  return value;
}

function optionalInteger(input: Record<string, unknown>, field: string, min: number): number | undefined {
  const value = input[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(`"${field}" must be a whole number of at least ${min}`);
  }
  return value;
}

function invalid(problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`backfill event: ${problem}`);
}
