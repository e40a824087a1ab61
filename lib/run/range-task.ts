import { InvalidArgumentError } from '../core/errors.ts';
import { compareUtf8 } from '../core/utf8-order.ts';
import type { KeyRange } from '../backfill/key-ranges.ts';
import type { RunFolder } from './state.ts';

/** One message of the work queue: list one key range of a bucket and publish its keys. */
export interface RangeTask {
  kind: 'range';
  run: RunFolder;
  runId: string;
  sourceBucket: string;
  prefix: string;
  /** `<n>` for a planned range, `<parent>-<m>` for the m-th piece its holder split off. */
  id: string;
  /** The range as queued; its checkpoint says how far it got and where it ends now. */
  range: KeyRange;
  /** Ranges it may make, itself included. */
  budget: number;
  /** 0 for the range's first task, then one more for each continuation. */
  sequence: number;
  /** ISO 8601: only objects modified at or after this time are published. */
  modifiedSince?: string;
  /** List and select as a real run, send nothing. */
  dryRun?: boolean;
}

/** Range ids: digits joined by `-`, short enough for a state key (pieces stop splitting before). */
const RANGE_ID = /^\d{1,6}(-\d{1,6})*$/;
export const MAX_RANGE_ID_LENGTH = 400;

/** The id of the `index`-th piece (from 1) split off range `parent`. */
export const pieceId = (parent: string, index: number) => `${parent}-${index}`;

/** The range `id` was split off, or undefined for a planned one. */
export function parentOf(id: string): string | undefined {
  const dash = id.lastIndexOf('-');
  return dash === -1 ? undefined : id.slice(0, dash);
}

/** Validates a range task from the work queue (`kind: "range"`); errors quote the message. */
export function checkRangeTask(task: RangeTask, body: string): RangeTask {
  const text = (value: unknown) => typeof value === 'string';
  const integer = (value: unknown, min: number) => Number.isSafeInteger(value) && (value as number) >= min;
  const { range } = task;
  const bound = (value: unknown) => value === undefined || (text(value) && (value as string).startsWith(task.prefix));
  if (
    !text(task.run?.bucket) ||
    !text(task.run.prefix) ||
    !text(task.runId) ||
    !text(task.sourceBucket) ||
    !text(task.prefix) ||
    !text(task.id) ||
    !RANGE_ID.test(task.id) ||
    task.id.length > MAX_RANGE_ID_LENGTH ||
    typeof range !== 'object' ||
    range === null ||
    !bound(range.startAfter) ||
    !bound(range.end) ||
    (range.startAfter !== undefined && range.end !== undefined && compareUtf8(range.startAfter, range.end) >= 0) ||
    !integer(task.budget, 1) ||
    !integer(task.sequence, 0) ||
    (task.modifiedSince !== undefined && Number.isNaN(Date.parse(task.modifiedSince))) ||
    (task.dryRun !== undefined && typeof task.dryRun !== 'boolean')
  ) {
    throw new InvalidArgumentError(`work task is not a range task: ${body.slice(0, 500)}`);
  }
  return task;
}
