import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOCAL_RUN = fileURLToPath(new URL('../../bin/local-run.ts', import.meta.url));

/** `npm start -- <args> --json`: the summary it prints. */
async function localRunSummary(...args: string[]) {
  const { stdout } = await promisify(execFile)(process.execPath, [LOCAL_RUN, ...args, '--json']);
  return JSON.parse(stdout.trim());
}

describe('npm start', () => {
  it('runs the inventory path on the embedded emulator and reports the queue depth', async () => {
    const args = ['--objects', '3000', '--files', '8', '--workers', '4', '--time-budget-ms', '50', '--json'];
    const { stdout } = await promisify(execFile)(process.execPath, [LOCAL_RUN, ...args]);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0] ?? '');
    expect(summary).toMatchObject({ mode: 'inventory', objects: 3000, published: 3000, queueDepth: 3000, parts: 8 });
    expect(summary.continuations).toBeGreaterThan(0);
    expect(summary.summary).toMatchObject({ status: 'complete', parts: 8, totals: { rowsRead: 3000, published: 3000, failed: 0 } });
  });

  it('tells the story in a few lines when not on a terminal, the summary last, the JSON logs in a file', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [LOCAL_RUN]);
    const lines = `${stdout}${stderr}`.trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(15);
    expect(lines.at(-1)).toMatch(/^500 messages were published in total by 4 parts .* the queue holds 500\.$/);
    const logPath = /JSON logs and metrics are in (\S+) /.exec(stdout)?.[1] ?? '';
    expect(await readFile(logPath, 'utf8')).toContain('"message": "work task ended"');
  });

  it('reads the metrics the run emitted back from their EMF lines with --metrics', async () => {
    const summary = await localRunSummary('--objects', '800', '--time-budget-ms', '50', '--metrics');
    expect(summary.metrics).toMatchObject({ Published: summary.published, PartsFinished: 4, Failed: 0, RowsRead: 800 });
    // A run whose parts all finish within the budget queues no continuation: the metric is then never emitted.
    expect(summary.metrics.Continuations ?? 0).toBe(summary.continuations);
    expect(summary.metrics.RunDurationSeconds).toBeGreaterThan(0);
  });

  it('publishes new objects live and, the next day, exactly those whose events were dropped, with --live', async () => {
    const summary = await localRunSummary('--live', '--objects', '600', '--drop-events', '9');
    expect(summary).toMatchObject({ livePublished: 591, reportPublished: 9, queueDepth: 600, duplicates: 0, dropped: 9 });
    expect(summary.liveLagMsP99).toBeGreaterThanOrEqual(summary.liveLagMsP50);
    expect(summary.summary).toMatchObject({
      status: 'complete',
      liveRecord: { keys: 591 },
      totals: { skippedByReason: { publishedLive: 591 } },
    });
  });

  it('publishes only what changed on the second day with --mode changed', async () => {
    const summary = await localRunSummary('--mode', 'changed');
    expect(summary.days).toEqual([
      { published: 500, skipped: 0, baseline: 'none' },
      { published: 50, skipped: 490, baseline: expect.objectContaining({ manifest: expect.stringMatching(/manifest\.json$/) }) },
    ]);
  });

  it("adopts another team's inventory bucket with --adopt: both source buckets, their notification kept, nothing written there", async () => {
    const summary = await localRunSummary('--adopt', '--format', 'parquet', '--objects', '300');
    expect(summary).toMatchObject({
      published: 600,
      queueDepth: 600,
      sourceBuckets: [
        { bucket: 'team-photos', published: 300, status: 'complete' },
        { bucket: 'team-videos', published: 300, status: 'complete' },
      ],
      otherNotificationsKept: true,
      writtenToAdoptedBucket: 0,
    });
    expect(summary.summary.map((report: { manifest: string }) => report.manifest)).toEqual([
      expect.stringMatching(/^s3:\/\/team-inventories\/athena\/inventories\/team-photos\/.*\/manifest\.json$/),
      expect.stringMatching(/^s3:\/\/team-inventories\/athena\/inventories\/team-videos\/.*\/manifest\.json$/),
    ]);
  });

  it('publishes exactly the objects that pass the filters, its report holding several storage classes and empty objects', async () => {
    const summary = await localRunSummary(
      '--objects',
      '2000',
      '--storage-class-exclude',
      'GLACIER,DEEP_ARCHIVE',
      '--min-size',
      '1',
      '--metrics',
    );
    // The demo report: one object in ten in Glacier or Deep Archive, one in 25 empty, never both.
    expect(summary).toMatchObject({ published: 1_520, queueDepth: 1_520, skippedByReason: { storageClass: 400, size: 80 } });
    expect(summary.metrics).toMatchObject({ SkippedStorageClass: 400, SkippedSize: 80, Skipped: 480 });
  });

  it("holds a messages-per-second cap across the run's workers, each publishing at its share", async () => {
    // Four files, four workers at once: without shares each would publish at the whole cap.
    const summary = await localRunSummary('--objects', '4000', '--workers', '8', '--max-messages-per-second', '1000');
    expect(summary).toMatchObject({ published: 4_000, queueDepth: 4_000, rateCap: 1_000 });
    // No one-second window over the cap and a tenth (the buckets' bursts); the mean near the cap.
    expect(summary.maxWindowRate).toBeLessThanOrEqual(1_100);
    expect(summary.meanRate).toBeGreaterThanOrEqual(800);
    expect(summary.summary.messagesPerSecond).toBeLessThanOrEqual(1_100);
  });

  it('sends nothing with --dry-run, in both modes, and says what the same run sends for real and its cost', async () => {
    const filters = ['--objects', '1000', '--storage-class-exclude', 'GLACIER', '--min-size', '1'];
    for (const mode of ['inventory', 'backfill']) {
      const real = await localRunSummary(...filters, '--mode', mode);
      const dry = await localRunSummary(...filters, '--mode', mode, '--dry-run');
      expect(dry, mode).toMatchObject({ published: 0, queueDepth: 0, dryRun: true, wouldPublish: real.published });
      expect(dry.skippedByReason, mode).toEqual(real.skippedByReason);
      expect(dry.sendMessageBatchCalls, mode).toBe(real.summary.totals?.sends ?? real.summary.sends);
      expect(dry.estimatedCostUsd.total, mode).toBeGreaterThan(0);
    }
  });

  it('makes every message an S3 event notification with --message-format s3-event', async () => {
    expect(await localRunSummary('--objects', '300', '--message-format', 's3-event')).toMatchObject({ published: 300, queueDepth: 300 });
  });

  it('runs the backfill on the demo bucket with --mode backfill', async () => {
    const summary = await localRunSummary('--mode', 'backfill', '--objects', '300');
    expect(summary).toMatchObject({ mode: 'backfill', objects: 300, published: 300, queueDepth: 300 });
    expect(summary.summary).toMatchObject({
      kind: 'backfill',
      bucket: 'demo-source',
      status: 'complete',
      ranges: 17,
      totals: { failed: 0 },
    });
  });
});
