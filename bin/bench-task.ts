// One measurement of `npm run bench`, in a process of its own so that its CPU time and peak
// memory are its alone. Usage: bench-task.ts <task> <json options>; prints one JSON line.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import PQueue from 'p-queue';
import { createAwsClientsFromEnvironment } from '../lib/core/aws-clients.ts';
import { backfillBucket } from '../lib/backfill/job.ts';
import { listObjects } from '../lib/core/listing.ts';
import { listKeyRange } from '../lib/backfill/range-listing.ts';
import { DEFAULTS, loadConfig } from '../lib/core/config.ts';
import { publishInventoryReport } from '../lib/inventory/job.ts';
import { runWorkersUntilRunsEnd } from '../lib/local/event-source.ts';
import { recordDeadLetters } from '../lib/run/part-failure.ts';
import { runTaskBatch } from '../lib/run/part-worker.ts';
import { workerContextFromEnvironment } from '../lib/run/worker-context.ts';
import { checkpointKey, getJson, type RunFolder, runFolder } from '../lib/run/state.ts';
import { dataFileFormat } from '../lib/inventory/formats.ts';
import { splitKeySpace } from '../lib/backfill/key-ranges.ts';
import { fetchManifest } from '../lib/inventory/manifest.ts';
import { mergeAsync } from '../lib/core/merge-async.ts';
import { messageBody } from '../lib/core/message.ts';
import { createPipelineContext } from '../lib/publish/pipeline.ts';
import { RunStats } from '../lib/core/run-stats.ts';
import { parseS3Uri } from '../lib/core/s3-location.ts';
import type { Log } from '../lib/core/types.ts';
import type { SQSRecord } from 'aws-lambda';
import { eventBridgeObjectCreated } from '../lib/inventory/s3-event.ts';
import { publishLiveBatch } from '../lib/live/live-publish.ts';
import { syntheticRows } from '../lib/local/bench/measurement.ts';
import type { InventoryRow } from '../lib/local/report-writer.ts';
import type { BackfillReport, PartCheckpoint, RunReport } from '../lib/run/types.ts';

interface Options {
  manifest?: string;
  bucket?: string;
  queueUrl?: string;
  count?: number;
  concurrency?: number;
  workQueueUrl?: string;
  deadLetterQueueUrl?: string;
  shardRows?: number;
  /** The live task: where its records go. */
  recordBucket?: string;
  /** The worker task: a backfill run's state folder, when it publishes no report's run. */
  run?: RunFolder;
  /** SendMessageBatch by the JSON-protocol sender (`lean`, the default) or the stock SDK. */
  sqsClient?: 'lean' | 'sdk';
}

/** Events per invocation of the live function: its event source's largest batch. */
const LIVE_BATCH = 10_000;
const quiet: Log = { debug() {}, info() {}, warn: (message) => console.error(message), error: (message) => console.error(message) };
const [task = '', json = '{}'] = process.argv.slice(2);
const options = JSON.parse(json) as Options;
const concurrency = options.concurrency ?? DEFAULTS.concurrency;
const clients = createAwsClientsFromEnvironment(concurrency);
const pipeline = () =>
  createPipelineContext(
    loadConfig({ ...process.env, QUEUE_URL: options.queueUrl, CONCURRENCY: String(concurrency), SQS_CLIENT: options.sqsClient ?? 'lean' }),
    quiet,
  );
const need = <T>(value: T | undefined, name: string): T => {
  if (value === undefined) throw new Error(`${task} needs ${name}`);
  return value;
};

/** What a task counted; a task that measures its own time and CPU returns them with the count. */
type Counted = number | { count: number; cpuMs: number; elapsedMs: number };

const tasks: Record<string, () => Promise<Counted>> = {
  /**
   * The reader alone, in the report's format: download, decompression, decoding, key decoding and
   * the row selection, each current object counted. No watermark: nothing is published.
   */
  async parse() {
    const manifest = await fetchManifest(clients.s3, parseS3Uri(need(options.manifest, 'manifest')));
    const format = dataFileFormat(manifest.format);
    const stats = new RunStats();
    let count = 0;
    for (const file of manifest.files) {
      const dataFile = { bucket: manifest.location.bucket, sourceBucket: manifest.sourceBucket, file, columns: manifest.columns };
      let row = 0;
      for await (const rows of format.open(clients.s3, dataFile, { startRow: 0, stats, selection: { fields: [] } })) {
        for (let index = 0; index < rows.length; index += 1) if (typeof rows.outcome(index, ++row) === 'object') count += 1;
      }
    }
    return count;
  },
  /** A continuation's skip past the rows done (here: all of them), without parsing them. */
  async skip() {
    const manifest = await fetchManifest(clients.s3, parseS3Uri(need(options.manifest, 'manifest')));
    for (const file of manifest.files) {
      const dataFile = { bucket: manifest.location.bucket, sourceBucket: manifest.sourceBucket, file, columns: manifest.columns };
      const rows = dataFileFormat(manifest.format).open(clients.s3, dataFile, {
        startRow: Number.MAX_SAFE_INTEGER,
        stats: new RunStats(),
        selection: { fields: [] },
      });
      for await (const _ of rows) throw new Error('skip: a row was not skipped');
    }
    return need(options.count, 'count');
  },
  /** The integrity pass before publishing: GetObject and MD5 of every byte (and CSV's row estimate); `count` rows. */
  async verify() {
    const manifest = await fetchManifest(clients.s3, parseS3Uri(need(options.manifest, 'manifest')));
    for (const file of manifest.files) await dataFileFormat(manifest.format).verify(clients.s3, { bucket: manifest.location.bucket, file });
    return need(options.count, 'count');
  },
  /** Bare SendMessageBatch calls of prebuilt bodies at the pipeline's concurrency, by `sqsClient`. */
  async send() {
    const queueUrl = need(options.queueUrl, 'queueUrl');
    const { sender } = pipeline();
    const count = need(options.count, 'count');
    const batches = Array.from({ length: 1_000 }, (_, batch) =>
      Array.from({ length: 10 }, (_, entry) => ({
        Id: String(entry),
        MessageBody: messageBody({ bucket: 'bench', key: `${batch}-${entry}.jpg` }),
      })),
    );
    const queue = new PQueue({ concurrency });
    for (let sent = 0; sent < count; sent += 10) {
      await queue.onSizeLessThan(1);
      const entries = batches[(sent / 10) % batches.length] ?? [];
      void queue.add(() => sender.sendBatch(queueUrl, entries.slice(0, Math.min(10, count - sent))));
    }
    await queue.onIdle();
    return count;
  },
  /** The real pipeline in one process: manifest → every data file → publisher → queue. */
  async inventory() {
    const summary = await publishInventoryReport(parseS3Uri(need(options.manifest, 'manifest')), pipeline());
    return summary.published;
  },
  /**
   * One worker function instance, as Lambda runs it: takes tasks of the work queue one at a time
   * until the run has its report. Several run at once, one process each. Counted: the run's
   * messages, its time from the first task taken to the report, and this process's CPU while it
   * ran tasks (the local stand-in for Lambda's pollers is not the function's work).
   */
  async worker() {
    const env = {
      ...process.env,
      QUEUE_URL: need(options.queueUrl, 'queueUrl'),
      WORK_QUEUE_URL: need(options.workQueueUrl, 'workQueueUrl'),
      SHARD_ROWS: String(options.shardRows ?? DEFAULTS.shardRows),
      CONCURRENCY: String(concurrency),
    };
    const context = await workerContextFromEnvironment(env, quiet);
    const manifest = options.manifest === undefined ? undefined : parseS3Uri(options.manifest);
    const run = manifest ? runFolder(manifest) : need(options.run, 'manifest or run');
    let cpuMicros = 0;
    const [report] = await runWorkersUntilRunsEnd<RunReport | BackfillReport>({
      s3: clients.s3,
      sqs: clients.sqs,
      runs: [run],
      workQueueUrl: env.WORK_QUEUE_URL,
      deadLetterQueueUrl: need(options.deadLetterQueueUrl, 'deadLetterQueueUrl'),
      workers: 1,
      worker: async (event) => {
        const before = process.cpuUsage();
        try {
          return await runTaskBatch(event, context, () => 900_000);
        } finally {
          const used = process.cpuUsage(before);
          cpuMicros += used.user + used.system;
        }
      },
      deadLetter: (event) => recordDeadLetters(event, clients.s3, quiet),
      // The run's times come from its state: a rare look for its report keeps the look's CPU out of the tasks'.
      reportPollMs: 1_000,
      log: quiet,
    });
    const done = report as RunReport | BackfillReport;
    // A report's run: from its first task taken; a backfill run: from its plan, which queued its first tasks.
    const first = manifest ? (await getJson<PartCheckpoint>(clients.s3, run.bucket, checkpointKey(run, 0)))?.value.startedAt : undefined;
    const elapsedMs = Date.parse(done.endedAt) - Date.parse(first ?? done.startedAt);
    return { count: done.totals.published, cpuMs: cpuMicros / 1000, elapsedMs };
  },
  /**
   * The live function on `count` S3 events, in batches of 10,000 as its event source hands them
   * over: the events are made between batches, and only the function's own work is measured.
   */
  async live() {
    const count = need(options.count, 'count');
    const bucket = need(options.bucket, 'bucket');
    const context = pipeline();
    const settings = {
      sourceBuckets: [bucket],
      ownBuckets: [],
      record: { bucket: need(options.recordBucket, 'recordBucket'), prefix: 'live/' },
    };
    const rows = syntheticRows(count);
    let cpuMicros = 0;
    let elapsed = 0;
    let published = 0;
    for (let done = 0; done < count; done += LIVE_BATCH) {
      const records: SQSRecord[] = [];
      for (let index = done; index < Math.min(count, done + LIVE_BATCH); index += 1) {
        const { key, etag, size } = rows.next().value as InventoryRow;
        const event = eventBridgeObjectCreated({ bucket, key }, size, '000000000000', new Date(), {
          ...(etag && { etag }),
          sequencer: '01',
        });
        records.push({ messageId: String(index), body: JSON.stringify(event) } as SQSRecord);
      }
      // The events' making is not the function's work: nor is collecting what it left.
      (globalThis as { gc?: () => void }).gc?.();
      const before = process.cpuUsage();
      const started = performance.now();
      published += (await publishLiveBatch(records, context, settings)).published;
      elapsed += performance.now() - started;
      const used = process.cpuUsage(before);
      cpuMicros += used.user + used.system;
    }
    return { count: published, cpuMs: cpuMicros / 1000, elapsedMs: elapsed };
  },
  /** Our backfill: 17 key ranges listed at once into the publisher. */
  async backfill() {
    const summary = await backfillBucket({ bucket: need(options.bucket, 'bucket') }, pipeline());
    return summary.published;
  },
  /** The original script: ListObjectsV2 page by page, then SendMessageBatch of 10, one call at a time. */
  async original() {
    const bucket = need(options.bucket, 'bucket');
    const queueUrl = need(options.queueUrl, 'queueUrl');
    let sent = 0;
    let token: string | undefined;
    do {
      const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(token && { ContinuationToken: token }) }));
      const keys = (page.Contents ?? []).map((object) => object.Key ?? '');
      for (let start = 0; start < keys.length; start += 10) {
        const entries = keys
          .slice(start, start + 10)
          .map((key, index) => ({ Id: String(index), MessageBody: messageBody({ bucket, key }) }));
        await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        sent += entries.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return sent;
  },
  /** Listing alone, one page after another. */
  async listSequential() {
    let count = 0;
    for await (const _ of listObjects(clients.s3, need(options.bucket, 'bucket'))) count += 1;
    return count;
  },
  /** Listing alone, the backfill's 17 ranges at once. */
  async listParallel() {
    const bucket = need(options.bucket, 'bucket');
    let count = 0;
    for await (const [, keys] of mergeAsync(splitKeySpace().map((range) => listKeyRange(clients.s3, bucket, '', range))))
      count += keys.length;
    return count;
  },
};

const run = tasks[task];
if (!run) throw new Error(`unknown task "${task}"; one of ${Object.keys(tasks).join(', ')}`);
const cpuBefore = process.cpuUsage();
const started = performance.now();
const counted = await run();
const cpu = process.cpuUsage(cpuBefore);
const measured =
  typeof counted === 'number' ? { count: counted, elapsedMs: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 } : counted;
console.log(
  JSON.stringify({
    task,
    count: measured.count,
    elapsedMs: Math.round(measured.elapsedMs),
    cpuMs: Math.round(measured.cpuMs),
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
