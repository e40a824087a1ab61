import { plural } from '../core/plural.ts';
import type { StatsSummary } from '../core/run-stats.ts';
import { sumCounters } from '../run/completion.ts';
import { type CostEstimate, estimateCost } from '../core/prices.ts';
import type { DryRunFigures } from '../publish/dry-run.ts';
import { isFifoQueue } from '../core/config.ts';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ArrivalMeter, queueDepth } from './arrival-meter.ts';
import { createAwsClients } from '../core/aws-clients.ts';
import type { BackfillEvent } from '../backfill/event.ts';
import type { BackfillPlan } from '../run/backfill-run.ts';
import { backfillRunFolder } from '../run/state.ts';
import { emulatorEnvironment, startEmulator } from './emulator.ts';
import { writeInventoryReport, type InventoryRow, type WrittenReport } from './report-writer.ts';
import { runWorkersUntilReport, runWorkersUntilRunsEnd } from './event-source.ts';
import { type LiveDemoResult, runLiveDemo } from './live-demo.ts';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ADOPTED, type AdoptDemoResult, type AdoptHandlers, runAdoptedInventories } from './adopt-demo.ts';

import { objectCreatedEvent } from '../inventory/s3-event.ts';
import { type KeyShape, sampleInventoryRows, seedBucket } from './sample-objects.ts';
import type { Log } from '../core/types.ts';
import type { InventoryFormat } from '../inventory/manifest.ts';
import type { BackfillReport, RunReport, WorkResult } from '../run/types.ts';

export type DemoMode = 'inventory' | 'backfill' | 'changed';

/** The Lambda handlers, called in this process as Lambda would call them. */
export interface DemoHandlers extends AdoptHandlers {
  backfill: (event: BackfillEvent) => Promise<BackfillPlan>;
  live: (event: SQSEvent) => Promise<SQSBatchResponse>;
}

export interface LocalDemoOptions {
  objects: number;
  /** Inventory mode: data files of the report, each one part for a worker. */
  files: number;
  /** Worker invocations at once. */
  workers: number;
  /** Each worker invocation stops after this long and queues the rest. */
  timeBudgetMs?: number;
  /** Inventory mode: data files of more rows are split into shards of at most this many. */
  shardRows?: number;
  mode: DemoMode;
  /** Inventory modes: the format of the report's data files. */
  format: InventoryFormat;
  /** Inventory mode: adopt another team's inventory bucket holding two source buckets' reports. */
  adopt?: boolean;
  /** How the sample objects are named (`hex` by default). */
  keyShape?: KeyShape;
  /** `MAX_MESSAGES_PER_SECOND` of the handlers: the run measures the queue's arrivals each second. */
  maxMessagesPerSecond?: number;
  /** Read and select as a real run, send nothing (`DRY_RUN` and the backfill's `dryRun`). */
  dryRun?: boolean;
  /** Live publishing: objects written with their events, `dropEvents` of them dropped, then the next report in `missed` mode. */
  live?: { dropEvents: number; windowMs: number };
  handlers: DemoHandlers;
  log: Log;
  onStep?: (step: string) => void;
  /** A live line while the workers publish (the queue's depth), for a terminal. */
  onProgress?: (line: string) => void;
}

export interface LocalDemoResult {
  mode: DemoMode;
  objects: number;
  published: number;
  queueDepth: number;
  /** From the handler's first invocation to the last message. */
  durationMs: number;
  messagesPerSecond: number;
  /** Peak resident memory of this process, the emulator's thread and its stored objects included. */
  peakRssMb: number;
  /** Peak JavaScript heap of this thread while the handlers ran: the pipeline's own memory. */
  pipelineHeapPeakMb: number;
  /** With a cap: the cap, the busiest one-second window of arrivals in the queue, and their mean rate. */
  rateCap?: number;
  maxWindowRate?: number;
  meanRate?: number;
  /** A dry run: what a real run would have sent (`published` is 0), and its cost. */
  dryRun?: true;
  wouldPublish?: number;
  sendMessageBatchCalls?: number;
  sqsRequests?: number;
  estimatedCostUsd?: CostEstimate;
  /** Objects not published, by why (the filters' among them). */
  skippedByReason: StatsSummary['skippedByReason'];
  /** Backfill mode: key ranges listed, and those that held keys. */
  ranges?: number;
  rangesWithKeys?: number;
  /** Inventory mode: parts, shards and continuations of the run's report. */
  parts?: number;
  shards?: number;
  continuations?: number;
  /** What the run produced: the inventory run's report (`--adopt`: one per source bucket), or the backfill run's. */
  summary: Summary;
  /** `changed` mode: each day's run, the second publishing only what changed. */
  days?: DayResult[];
  /** `--live`: what the live path published, its lag, and what the next report's run published. */
  livePublished?: number;
  liveLagMsP50?: number;
  liveLagMsP99?: number;
  dropped?: number;
  reportPublished?: number;
  duplicates?: number;
  /** `--adopt`: each source bucket's run, and what happened to the adopted bucket. */
  sourceBuckets?: AdoptDemoResult['sourceBuckets'];
  otherNotificationsKept?: boolean;
  writtenToAdoptedBucket?: number;
}

type Summary = RunReport | RunReport[] | BackfillReport;

/** A dry run's figures, as the CLI's dry runs give them. */
export type DemoDryRun = Pick<DryRunFigures, 'dryRun' | 'wouldPublish' | 'sendMessageBatchCalls' | 'sqsRequests' | 'estimatedCostUsd'>;

export interface DayResult {
  published: number;
  skipped: number;
  baseline: RunReport['baseline'];
}

const FILE_KINDS: Record<InventoryFormat, string> = { CSV: 'gzipped CSV', Parquet: 'Parquet', ORC: 'ORC' };

/** `changed` mode's second day: objects added and objects overwritten since the first report. */
const NEW_OBJECTS = 40;
const OVERWRITTEN = 10;
const HOUR = 3_600_000;

export const DEMO = {
  sourceBucket: 'demo-source',
  inventoryBucket: 'demo-inventory',
  inventoryPrefix: 'inventory',
  configId: 'daily',
  queueName: 'demo-objects.fifo',
  workQueueName: 'demo-work',
  /** Deliveries of a task before it goes to the dead-letter queue, as in the stack. */
  maxReceiveCount: 3,
} as const;

/**
 * The whole path on a laptop: an in-process emulator, a bucket of sample objects, then either its
 * inventory report in S3's layout, the S3 event delivered to the inventory handler and the work
 * queue drained by workers invoked as Lambda's event source mapping would, or the backfill handler
 * invoked on the bucket; finally the queue's depth. Points this process's AWS SDK at the emulator
 * through `AWS_ENDPOINT_URL`.
 */
export async function runLocalDemo(options: LocalDemoOptions): Promise<LocalDemoResult> {
  const step = options.onStep ?? (() => {});
  const emulator = await startEmulator();
  try {
    Object.assign(process.env, emulatorEnvironment(emulator.endpoint));
    const { s3, sqs } = createAwsClients({ concurrency: 32, endpointUrl: emulator.endpoint });
    await createBuckets(s3);
    const queueUrl = await createFifoQueue(sqs, DEMO.queueName);
    process.env.QUEUE_URL = queueUrl;

    if (options.adopt || options.live) step(`The emulator runs on ${emulator.endpoint}.`);
    else await seedDemoBucket(s3, options, emulator.endpoint);

    const meter = options.maxMessagesPerSecond ? new ArrivalMeter(sqs, queueUrl) : undefined;
    let days: DayResult[] | undefined;
    let adopted: Omit<AdoptDemoResult, 'reports'> | undefined;
    let measured: Measured<Summary>;
    const work = await createWorkQueue(sqs, DEMO.workQueueName, DEMO.maxReceiveCount);
    process.env.WORK_QUEUE_URL = work.workQueueUrl;
    if (options.timeBudgetMs !== undefined) process.env.TIME_BUDGET_MS = String(options.timeBudgetMs);
    if (options.shardRows !== undefined) process.env.SHARD_ROWS = String(options.shardRows);
    const inventory = { s3, sqs, work, options };
    let live: Omit<LiveDemoResult, 'report'> | undefined;
    if (options.mode === 'backfill') measured = await runBackfill(inventory);
    else if (options.live) ({ measured, live } = await runLive(inventory, options.live));
    else {
      if (options.adopt) ({ measured, adopted } = await runAdopted(inventory));
      else if (options.mode === 'changed') ({ measured, days } = await runTwoDays(inventory));
      else
        measured = await runInventory(
          inventory,
          await writeDemoReport(
            s3,
            sampleInventoryRows(options.objects, new Date(), 0, options.keyShape),
            options.objects,
            options.files,
            new Date(),
            options.format,
          ),
        );
    }
    const result = figuresOf(measured.value, queueUrl);
    // The live run read the queue to time each message: its count is the queue's depth.
    const depth = live ? live.queueDepth : await queueDepth(sqs, queueUrl);
    const published = live ? live.livePublished + live.reportPublished : result.published;
    return {
      mode: options.mode,
      objects: options.adopt ? options.objects * ADOPTED.sourceBuckets.length : options.objects,
      published,
      queueDepth: depth,
      durationMs: measured.durationMs,
      messagesPerSecond: Math.round(published / (measured.durationMs / 1000)),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      pipelineHeapPeakMb: Math.round(measured.heapPeakBytes / 2 ** 20),
      ...result.figures,
      ...(meter && { rateCap: options.maxMessagesPerSecond, ...meter.stop() }),
      summary: measured.value,
      ...(days && { days }),
      ...live,
      ...adopted,
    };
  } finally {
    await emulator.stop();
  }
}

/** What a run's report (or reports) comes to: its messages, parts or ranges, and skips. */
function figuresOf(summary: Summary, queueUrl: string) {
  const all: Array<RunReport | BackfillReport> = Array.isArray(summary) ? summary : [summary];
  const runs = all.filter((report): report is RunReport => !('kind' in report));
  const total = (figure: (report: RunReport | BackfillReport) => number) => all.reduce((sum, report) => sum + figure(report), 0);
  const dryRun = dryRunOf(summary, queueUrl);
  const published = dryRun ? 0 : total((report) => report.totals.published);
  const skippedByReason = sumCounters(all.map(({ totals }) => ({ counters: totals, continuations: 0 }))).skippedByReason;
  return {
    published,
    figures: {
      ...(runs.length > 0 && {
        parts: runs.reduce((sum, report) => sum + report.parts, 0),
        shards: runs.reduce((sum, report) => sum + report.shards, 0),
      }),
      ...('kind' in summary && { ranges: summary.ranges, rangesWithKeys: summary.rangesWithKeys }),
      continuations: total((report) => report.totals.continuations),
      skippedByReason,
      ...dryRun,
    },
  };
}

/**
 * A dry run's figures: a report gives the counts, priced here with the reads (a report's data
 * files, or a listing's pages: one per 1,000 keys and one more per range) and the workers' time on
 * each part or range (what Lambda bills; state requests left out).
 */
function dryRunOf(summary: Summary, queueUrl: string): DemoDryRun | undefined {
  if (Array.isArray(summary) || !summary.dryRun) return undefined;
  const { published, sends = 0, sqsRequests = 0, rowsRead } = summary.totals;
  const works: Array<Pick<WorkResult, 'startedAt' | 'endedAt' | 'counters'>> =
    'kind' in summary ? [] : summary.partResults.flatMap((part): WorkResult[] => part.shards ?? [part]);
  const seconds =
    'kind' in summary
      ? (Date.parse(summary.endedAt) - Date.parse(summary.startedAt)) / 1000
      : works.reduce((sum, work) => sum + (Date.parse(work.endedAt) - Date.parse(work.startedAt ?? work.endedAt)) / 1000, 0);
  const estimatedCostUsd = estimateCost({
    sqsRequests,
    fifo: isFifoQueue(queueUrl),
    s3Gets: works.reduce((sum, work) => sum + 1 + (work.counters.downloadResumes ?? 0), 0),
    s3Lists: 'kind' in summary ? Math.ceil(rowsRead / 1_000) + summary.ranges : 0,
    lambdaSeconds: seconds,
  });
  return { dryRun: true, wouldPublish: published, sendMessageBatchCalls: sends, sqsRequests, estimatedCostUsd };
}

const SHAPE_NAMES: Record<KeyShape, string> = {
  hex: 'named <sha256>.<ext>',
  'deep-prefix': 'named <sha256>.<ext> under one deep prefix',
  dates: 'named logs/YYYY/MM/DD/…',
};

/** The demo's source bucket, its objects written with a progress line, then said. */
async function seedDemoBucket(s3: S3Client, options: LocalDemoOptions, endpoint: string): Promise<void> {
  await seedBucket(s3, DEMO.sourceBucket, {
    count: options.objects,
    ...(options.keyShape && { shape: options.keyShape }),
    onProgress: (written) => {
      if (written % 1_000 === 0) options.onProgress?.(`  ${written} of ${options.objects} objects written to s3://${DEMO.sourceBucket}…`);
    },
  });
  const objects = `${options.objects} ${plural(options.objects, 'object')} ${SHAPE_NAMES[options.keyShape ?? 'hex']}`;
  options.onStep?.(`The emulator runs on ${endpoint}; s3://${DEMO.sourceBucket} holds ${objects}.`);
}

/**
 * Two daily reports of the demo bucket in `changed` mode: the first, scanned two days ago, of
 * objects written four days ago (no earlier complete run: everything is published); the second,
 * scanned now, after 40 objects were added and 10 overwritten: only those 50 are published.
 */
async function runTwoDays(inventory: InventoryDemo): Promise<{ measured: Measured<RunReport>; days: DayResult[] }> {
  const { s3, options } = inventory;
  const step = options.onStep ?? (() => {});
  process.env.PUBLISH_MODE = 'changed';
  const now = Date.now();
  const written = new Date(now - 96 * HOUR);
  const firstScan = new Date(now - 48 * HOUR);
  step(`Day 1: a report scanned ${firstScan.toISOString()} of objects written ${written.toISOString()}.`);
  const first = await runInventory(
    inventory,
    await writeDemoReport(s3, sampleInventoryRows(options.objects, written), options.objects, options.files, firstScan, options.format),
  );
  step(`Day 2: ${NEW_OBJECTS} objects added and ${OVERWRITTEN} overwritten since.`);
  // The day-1 objects, the first ten rewritten now, then the new ones (samples past `objects`).
  const dayTwo = function* () {
    let index = 0;
    for (const row of sampleInventoryRows(options.objects, written))
      yield index++ < OVERWRITTEN ? { ...row, lastModified: new Date(now) } : row;
    for (const row of sampleInventoryRows(options.objects + NEW_OBJECTS, new Date(now), options.objects)) yield row;
  };
  const second = await runInventory(
    inventory,
    await writeDemoReport(s3, dayTwo(), options.objects + NEW_OBJECTS, options.files, new Date(now), options.format),
  );
  const day = ({ value }: Measured<RunReport>): DayResult => ({
    published: value.totals.published,
    skipped: value.totals.skipped,
    baseline: value.baseline,
  });
  return { measured: second, days: [day(first), day(second)] };
}

/** `--adopt`: the stack's bucket keeps the state of the runs of another team's reports, as the stack's environment says. */
async function runAdopted(
  inventory: InventoryDemo,
): Promise<{ measured: Measured<RunReport[]>; adopted: Omit<AdoptDemoResult, 'reports'> }> {
  const { s3, sqs, work, options } = inventory;
  const stateStore = { bucket: DEMO.inventoryBucket, prefix: `${DEMO.inventoryPrefix}/_adopted/` };
  Object.assign(process.env, { RUN_STATE_BUCKET: stateStore.bucket, RUN_STATE_PREFIX: stateStore.prefix });
  const { value, ...measured } = await measure(() =>
    runAdoptedInventories({
      s3,
      sqs,
      work,
      stateStore,
      objectsPerBucket: options.objects,
      files: options.files,
      workers: options.workers,
      format: options.format,
      handlers: options.handlers,
      log: options.log,
      step: options.onStep ?? (() => {}),
    }),
  );
  const { reports, ...adopted } = value;
  return { measured: { ...measured, value: reports }, adopted };
}

/** What the inventory modes of the demo share: clients, the work queues, the options. */
interface InventoryDemo {
  s3: S3Client;
  sqs: SQSClient;
  work: { workQueueUrl: string; deadLetterQueueUrl: string };
  options: LocalDemoOptions;
}

/**
 * Invokes the backfill function, which plans the run and queues its key ranges, then runs the
 * workers until the run's report exists: they list the ranges, split the large ones further and
 * publish, as the stack's worker function does.
 */
async function runBackfill({ s3, sqs, work, options }: InventoryDemo): Promise<Measured<BackfillReport>> {
  const step = options.onStep ?? (() => {});
  const store = { bucket: DEMO.inventoryBucket, prefix: `${DEMO.inventoryPrefix}/_backfill/` };
  Object.assign(process.env, {
    RUN_STATE_BUCKET: store.bucket,
    BACKFILL_STATE_PREFIX: store.prefix,
    WORKER_CONCURRENCY: String(Math.max(2, options.workers)),
  });
  return measure(async () => {
    // A dry run: the stack's DRY_RUN, set for the handlers, makes the backfill dry as well.
    const plan = await options.handlers.backfill({ bucket: DEMO.sourceBucket });
    step(
      `The backfill function planned run ${plan.runId}: ${plan.ranges} key ranges queued for the workers; its state is in ${plan.stateLocation}.`,
    );
    step(
      `${options.workers} worker ${plural(options.workers, 'invocation')} at a time list the ranges, split those that hold many keys, and publish${options.timeBudgetMs ? `, each stopping after ${options.timeBudgetMs} ms` : ''}.`,
    );
    const ticker = progressTicker(sqs, options);
    const [done] = await runWorkersUntilRunsEnd<BackfillReport>({
      s3,
      sqs,
      runs: [backfillRunFolder(store, plan.bucket, plan.runId)],
      ...work,
      workers: options.workers,
      worker: options.handlers.worker,
      deadLetter: options.handlers.deadLetter,
      log: options.log,
    }).finally(() => clearInterval(ticker));
    const report = done as BackfillReport;
    const { totals } = report;
    step(
      `The run's report.json: ${report.status}${report.dryRun ? ' (dry run)' : ''}, ${totals.published} ${report.dryRun ? 'to publish' : 'published'} from ${report.ranges} ranges (${report.rangesWithKeys} with keys), ${totals.skipped} skipped, ${totals.failed} failed, ${totals.continuations} ${plural(totals.continuations, 'continuation')}.`,
    );
    return report;
  });
}

/**
 * `--live`: the live path on, the objects written with their events (some dropped), then the
 * next report in `missed` mode (lib/local/live-demo.ts).
 */
async function runLive(
  inventory: InventoryDemo,
  settings: { dropEvents: number; windowMs: number },
): Promise<{ measured: Measured<RunReport>; live: Omit<LiveDemoResult, 'report'> }> {
  const { s3, sqs, options } = inventory;
  Object.assign(process.env, {
    PUBLISH_MODE: 'missed',
    LIVE_SOURCE_BUCKETS: DEMO.sourceBucket,
    RUN_STATE_BUCKET: DEMO.inventoryBucket,
    LIVE_RECORD_PREFIX: `${DEMO.inventoryPrefix}/_live/`,
  });
  const runReport = async (rows: InventoryRow[], createdAt: Date) =>
    (await runInventory(inventory, await writeDemoReport(s3, rows, rows.length, options.files, createdAt, options.format))).value;
  const { value, ...measured } = await measure(() =>
    runLiveDemo({
      s3,
      sqs,
      sourceBucket: DEMO.sourceBucket,
      queueUrl: process.env.QUEUE_URL ?? '',
      objects: options.objects,
      dropEvents: settings.dropEvents,
      writeMs: 3_000,
      windowMs: settings.windowMs,
      live: options.handlers.live,
      runReport,
      step: options.onStep ?? (() => {}),
    }),
  );
  const { report, ...live } = value;
  return { measured: { ...measured, value: report }, live };
}

/** A live line of the queue's depth while the workers publish, for a terminal. */
function progressTicker(sqs: SQSClient, options: LocalDemoOptions): ReturnType<typeof setInterval> | undefined {
  return (
    options.onProgress &&
    setInterval(async () => options.onProgress?.(`  ${await queueDepth(sqs, process.env.QUEUE_URL ?? '')} messages in the queue…`), 250)
  );
}

/** Delivers the event of a written report and runs the workers until the run's report exists. */
async function runInventory({ s3, sqs, work, options }: InventoryDemo, report: WrittenReport): Promise<Measured<RunReport>> {
  const step = options.onStep ?? (() => {});
  step(
    `S3 Inventory's report of it is written: ${report.files.length} ${FILE_KINDS[options.format]} data ${plural(report.files.length, 'file')} and s3://${report.manifest.bucket}/${report.manifest.key}.`,
  );

  return measure(async () => {
    const { runs } = await options.handlers.inventory(objectCreatedEvent(report.manifest, 0));
    step(
      `The S3 event reached the inventory function: it claimed the report and queued ${runs[0]?.parts ?? 0} part ${plural(runs[0]?.parts ?? 0, 'task')}.`,
    );
    step(
      `${options.workers} worker ${plural(options.workers, 'invocation')} at a time publish the parts${options.timeBudgetMs ? `, each stopping after ${options.timeBudgetMs} ms` : ''}.`,
    );
    const ticker = progressTicker(sqs, options);
    const done = await runWorkersUntilReport({
      s3,
      sqs,
      manifest: report.manifest,
      ...work,
      workers: options.workers,
      worker: options.handlers.worker,
      deadLetter: options.handlers.deadLetter,
      log: options.log,
      ...(options.dryRun && { dryRun: true }),
    }).finally(() => clearInterval(ticker));
    const { totals } = done;
    const baseline =
      done.baseline === undefined ? '' : `, baseline ${done.baseline === 'none' ? 'none (everything published)' : done.baseline.manifest}`;
    const shards = done.shards > done.parts ? ` from ${done.shards} shards` : '';
    step(
      `The run's report.json: ${done.status}${done.dryRun ? ' (dry run)' : ''}, ${totals.published} ${done.dryRun ? 'to publish' : 'published'}${shards}, ${totals.skipped} skipped, ${totals.failed} failed, ${totals.continuations} ${plural(totals.continuations, 'continuation')}${baseline}.`,
    );
    return done;
  });
}

/** Storage classes the demo's report gives its objects in turn: most STANDARD, some archived. */
const DEMO_CLASSES = [
  'STANDARD',
  'STANDARD',
  'STANDARD',
  'STANDARD',
  'STANDARD',
  'STANDARD_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
];

/** A demo report's rows as a real bucket's look: one object in ten archived in Glacier or Deep Archive, one in 25 empty. */
function* withVariety(rows: Iterable<InventoryRow>): Generator<InventoryRow> {
  let index = 0;
  for (const row of rows) {
    yield { ...row, storageClass: DEMO_CLASSES[index % DEMO_CLASSES.length] as string, ...(index % 25 === 0 && { size: 0 }) };
    index += 1;
  }
}

/** An inventory report of the demo bucket, in S3's layout and format, scanned at `createdAt`. */
export function writeDemoReport(
  s3: S3Client,
  rows: Iterable<InventoryRow>,
  count: number,
  files: number,
  createdAt = new Date(),
  format: InventoryFormat = 'CSV',
): Promise<WrittenReport> {
  return writeInventoryReport(s3, {
    sourceBucket: DEMO.sourceBucket,
    destinationBucket: DEMO.inventoryBucket,
    prefix: DEMO.inventoryPrefix,
    configId: DEMO.configId,
    rows: withVariety(rows),
    rowsPerFile: Math.max(1, Math.ceil(count / files)),
    createdAt,
    format,
    columns: ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass'],
  });
}

async function createBuckets(s3: S3Client): Promise<void> {
  for (const bucket of [DEMO.sourceBucket, DEMO.inventoryBucket]) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

export async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
  return QueueUrl;
}

/** A FIFO queue in high-throughput mode, as the stack creates by default. */
export function createFifoQueue(sqs: SQSClient, name: string): Promise<string> {
  return createQueue(sqs, name, { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
}

/** A work queue whose tasks move to `<name>-dead-letter` after `maxReceiveCount` deliveries, as in the stack. */
export async function createWorkQueue(
  sqs: SQSClient,
  name: string,
  maxReceiveCount: number,
): Promise<{ workQueueUrl: string; deadLetterQueueUrl: string }> {
  const deadLetterQueueUrl = await createQueue(sqs, `${name}-dead-letter`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'] }));
  const workQueueUrl = await createQueue(sqs, name, {
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount }),
  });
  return { workQueueUrl, deadLetterQueueUrl };
}

interface Measured<T> {
  value: T;
  durationMs: number;
  /** Peak of this thread's heap, sampled while `run` ran: what the pipeline held at once. */
  heapPeakBytes: number;
}

async function measure<T>(run: () => Promise<T>): Promise<Measured<T>> {
  let heapPeakBytes = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    heapPeakBytes = Math.max(heapPeakBytes, process.memoryUsage().heapUsed);
  }, 20);
  const started = performance.now();
  try {
    const value = await run();
    return { value, durationMs: Math.round(performance.now() - started), heapPeakBytes };
  } finally {
    clearInterval(sampler);
  }
}
