/** Lambda stops a function at 15 minutes at most; long jobs stop themselves before that. */
const MAX_RESERVE_MS = 60_000;

/**
 * How long an invocation may publish: the remaining time less a reserve for the batches in flight
 * to settle (with their retries) and for the next task to be queued: a minute, or a fifth of the
 * remaining time when that is less.
 */
export function publishingBudget(remainingMs: number): number {
  return Math.max(1, Math.floor(remainingMs - Math.min(MAX_RESERVE_MS, remainingMs / 5)));
}
