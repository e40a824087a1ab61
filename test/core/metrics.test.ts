import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMetrics, InvocationMetrics, METRICS_INTERVAL_MS } from '../../lib/core/metrics.ts';
import { RunStats } from '../../lib/core/run-stats.ts';
import { parseEmfLine, sumEmfMetrics, type EmfLine } from '../../lib/local/emf.ts';
import { silentLog } from '../support/emulator.ts';

describe('InvocationMetrics', () => {
  let lines: string[];
  beforeEach(() => {
    // Powertools writes through the global console in dev mode; metrics stay on.
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    lines = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });
  const emf = () => lines.filter((line) => line.startsWith('{"_aws"')).map(parseEmfLine);
  const values = (document: EmfLine) =>
    Object.fromEntries(document._aws.CloudWatchMetrics[0]!.Metrics.map(({ Name, Unit }) => [Name, [document[Name], Unit]]));

  it('emits valid EMF in namespace s3-to-sqs with service and stage, counters as differences since the start', () => {
    const stats = new RunStats();
    stats.restore({
      rowsRead: 100,
      published: 90,
      skipped: 10,
      skippedByReason: { ...new RunStats().skipped, deleteMarker: 10 },
      failed: 0,
      retries: 0,
    });
    const metrics = new InvocationMetrics(createMetrics({ STAGE: 'prod' }), stats, silentLog);
    stats.rowsRead += 50;
    stats.published += 45;
    stats.skip('notLatest');
    stats.failed += 2;
    stats.retries += 7;
    metrics.end();
    metrics.record({ continuations: 1 });
    const [counters, outcome] = emf();
    expect(counters?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 's3-to-sqs', Dimensions: [['service', 'stage']] });
    expect(counters).toMatchObject({ service: 's3-to-sqs', stage: 'prod' });
    expect(values(counters!)).toMatchObject({
      Published: [45, 'Count'],
      Failed: [2, 'Count'],
      Retried: [7, 'Count'],
      RowsRead: [50, 'Count'],
      Skipped: [1, 'Count'],
      MessagesPerSecond: [expect.any(Number), 'Count/Second'],
    });
    expect(values(outcome!)).toEqual({ Continuations: [1, 'Count'] });
  });

  it('publishes at least once a minute during a long invocation, and the sums match the counters', () => {
    const stats = new RunStats();
    const metrics = new InvocationMetrics(createMetrics({}), stats, silentLog);
    stats.published += 1_000;
    vi.advanceTimersByTime(METRICS_INTERVAL_MS);
    expect(emf()).toHaveLength(1);
    stats.published += 500;
    vi.advanceTimersByTime(METRICS_INTERVAL_MS);
    stats.published += 5;
    metrics.end();
    metrics.record({ partsFinished: 1, runDurationSeconds: 12.5 });
    expect(emf().map((document) => document.Published ?? null)).toEqual([1_000, 500, 5, null]);
    expect(sumEmfMetrics(lines.join('\n'))).toMatchObject({ Published: 1_505, PartsFinished: 1, RunDurationSeconds: 12.5 });
  });

  it('emits each metric also per source bucket, in every publish, keeping the stack-wide series', () => {
    const stats = new RunStats();
    const metrics = new InvocationMetrics(createMetrics({ STAGE: 'prod' }), stats, silentLog, { sourceBucket: 'team-photos' });
    stats.published += 10;
    vi.advanceTimersByTime(METRICS_INTERVAL_MS);
    stats.published += 5;
    metrics.end();
    metrics.record({ partsFinished: 1 });
    const documents = emf();
    expect(documents).toHaveLength(3);
    for (const document of documents) {
      expect(document._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([
        ['service', 'stage'],
        ['service', 'stage', 'sourceBucket'],
      ]);
      expect(document).toMatchObject({ stage: 'prod', sourceBucket: 'team-photos' });
    }
    expect(documents.map((document) => document.Published ?? null)).toEqual([10, 5, null]);
  });

  it('never throws into the run when metrics cannot be published', () => {
    const stats = new RunStats();
    const broken = createMetrics({});
    vi.spyOn(broken, 'publishStoredMetrics').mockImplementation(() => {
      throw new Error('stdout closed');
    });
    const warnings: string[] = [];
    const metrics = new InvocationMetrics(broken, stats, { ...silentLog, warn: (message) => void warnings.push(message) });
    expect(() => metrics.end()).not.toThrow();
    expect(warnings).toEqual(['metrics not published']);
  });
});
