import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Environment } from './config.ts';
import { serviceName } from './logger.ts';
import type { RunStats } from './run-stats.ts';
import type { Log } from './types.ts';

export const METRICS_NAMESPACE = 's3-to-sqs';
/** A long invocation publishes its metrics at least this often, so that a dashboard moves. */
export const METRICS_INTERVAL_MS = 60_000;

/**
 * CloudWatch metrics in the embedded metric format (one JSON line on stdout, which Lambda sends to
 * CloudWatch Logs): namespace `s3-to-sqs`, dimensions `service` and `stage`; an invocation for one
 * source bucket also emits each metric with `sourceBucket`, so that runs of the buckets of one
 * adopted inventory can be told apart while the stack's totals stay one series.
 */
export function createMetrics(env: Environment = process.env): Metrics {
  return new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: serviceName(env),
    defaultDimensions: { stage: env.STAGE || 'local' },
  });
}

/** What an invocation came to, beside its counters. */
export interface InvocationOutcome {
  continuations?: number;
  partsFinished?: number;
  /** Set by the invocation that completed a run: from the claim to the report. */
  runDurationSeconds?: number;
}

const COUNTERS = [
  ['Published', (stats: RunStats) => stats.published],
  ['Failed', (stats: RunStats) => stats.failed],
  ['Retried', (stats: RunStats) => stats.retries],
  ['RowsRead', (stats: RunStats) => stats.rowsRead],
  ['Skipped', (stats: RunStats) => stats.skippedTotal],
  // Objects the filters kept from the consumers, by filter.
  ['SkippedStorageClass', (stats: RunStats) => stats.skipped.storageClass],
  ['SkippedSize', (stats: RunStats) => stats.skipped.size],
  ['SkippedLastModified', (stats: RunStats) => stats.skipped.lastModified],
] as const;

/**
 * The metrics of one invocation's run: its counters as differences since the last flush, every
 * `METRICS_INTERVAL_MS` while it runs and once at the end, with `MessagesPerSecond` over the whole
 * invocation; then what it came to. Metrics never block or fail a publish: a failure to emit is
 * logged and dropped.
 */
export class InvocationMetrics {
  readonly #metrics: Metrics;
  readonly #stats: RunStats;
  readonly #log: Log;
  readonly #last: number[];
  readonly #publishedAtStart: number;
  readonly #startedAt = performance.now();
  readonly #timer: NodeJS.Timeout;
  readonly #sourceBucket: string | undefined;

  /** Starts from the counters as they are now (a worker restores earlier invocations' first). */
  constructor(metrics: Metrics, stats: RunStats, log: Log, options: { sourceBucket?: string; intervalMs?: number } = {}) {
    const intervalMs = options.intervalMs ?? METRICS_INTERVAL_MS;
    this.#sourceBucket = options.sourceBucket;
    this.#metrics = metrics;
    this.#stats = stats;
    this.#log = log;
    this.#last = COUNTERS.map(([, read]) => read(stats));
    this.#publishedAtStart = stats.published;
    this.#timer = setInterval(() => this.#flush(), intervalMs);
    this.#timer.unref();
  }

  /** The last flush of the counters, with the invocation's rate; the timer stops. */
  end(): void {
    clearInterval(this.#timer);
    const seconds = Math.max((performance.now() - this.#startedAt) / 1000, 0.001);
    this.#flush((metrics) => {
      metrics.addMetric('MessagesPerSecond', MetricUnit.CountPerSecond, (this.#stats.published - this.#publishedAtStart) / seconds);
    });
  }

  /** What the invocation came to: a continuation queued, a part finished, a run completed. */
  record(outcome: InvocationOutcome): void {
    this.#publish((metrics) => {
      if (outcome.continuations) metrics.addMetric('Continuations', MetricUnit.Count, outcome.continuations);
      if (outcome.partsFinished) metrics.addMetric('PartsFinished', MetricUnit.Count, outcome.partsFinished);
      if (outcome.runDurationSeconds !== undefined) metrics.addMetric('RunDurationSeconds', MetricUnit.Seconds, outcome.runDurationSeconds);
    });
  }

  #flush(addMore?: (metrics: Metrics) => void): void {
    this.#publish((metrics) => {
      COUNTERS.forEach(([name, read], index) => {
        const value = read(this.#stats);
        metrics.addMetric(name, MetricUnit.Count, value - (this.#last[index] as number));
        this.#last[index] = value;
      });
      addMore?.(metrics);
    });
  }

  #publish(add: (metrics: Metrics) => void): void {
    try {
      // Two dimension sets, cleared by each publish: the defaults alone (Powertools emits them alone
      // only when no set is added: the dashboard's series) and the defaults with the bucket.
      if (this.#sourceBucket) this.#metrics.addDimensions({}).addDimensions({ sourceBucket: this.#sourceBucket });
      add(this.#metrics);
      this.#metrics.publishStoredMetrics();
    } catch (error) {
      this.#log.warn('metrics not published', { error: String(error) });
    }
  }
}
