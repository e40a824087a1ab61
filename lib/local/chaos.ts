import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { drainQueue } from './queue-drain.ts';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createAwsClients } from '../core/aws-clients.ts';
import type { Log } from '../core/types.ts';
import { startBackfillRun } from '../run/backfill-run.ts';
import { startInventoryRun } from '../run/fan-out.ts';
import { backfillRunFolder, type RunFolder, runFolder } from '../run/state.ts';
import { recordDeadLetters } from '../run/part-failure.ts';

import { queueDepth } from './arrival-meter.ts';
import { createQueue, createWorkQueue, DEMO, writeDemoReport } from './demo.ts';
import { emulatorEnvironment, startEmulator } from './emulator.ts';
import { runWorkersUntilRunsEnd } from './event-source.ts';
import { type ProxyCounts, type ProxyFaults, startEmulatorProxy } from './proxy.ts';
import { type KeyShape, sampleInventoryRows, seedBucket } from './sample-objects.ts';
import type { BackfillReport, RunReport, RunTotals } from '../run/types.ts';

export interface ChaosOptions {
  /** `inventory`: a report's run; `backfill`: a backfill run of the bucket, its ranges listed by the workers. */
  mode: 'inventory' | 'backfill';
  objects: number;
  /** Backfill: how the bucket's objects are named (`hex` by default). */
  keyShape?: KeyShape;
  files: number;
  workers: number;
  /** Worker processes killed (SIGKILL) at a random moment, at most once per task. */
  kills: number;
  /** Each worker invocation publishes for this long, then queues the rest: more links, more kills. */
  timeBudgetMs: number;
  /** Seed of the faults and kills, to replay a run. */
  seed: number;
  /** Data files of more rows are split into shards of at most this many (the workers' SHARD_ROWS). */
  shardRows?: number;
  log: Log;
}

export interface ChaosResult {
  objects: number;
  /** Messages the run's report counts as published (re-sends after a kill included). */
  published: number;
  /** Messages in the target queue at the end: every key, and the re-sends a kill caused. */
  queueDepth: number;
  distinctKeys: number;
  /** Objects of the report with no message in the queue. */
  lost: number;
  kills: number;
  invocations: number;
  mode: ChaosOptions['mode'];
  status: string;
  /** Inventory: shards the run's files were published in (each split file's, and 1 per other file). */
  shards?: number;
  /** Backfill: range tasks created, and those that held keys. */
  ranges?: number;
  rangesWithKeys?: number;
  continuations: number;
  faults: Pick<ProxyCounts, 'entriesFailed' | 'requestsFailed' | 'requestsHeld' | 'responsesCut' | 'responsesStalled'>;
  durationMs: number;
  totals: RunTotals;
}

const WORKER_PROCESS = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** A small seeded generator (mulberry32): the same seed replays the same faults and kills. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The whole distributed run under faults, on the local emulator: a fault proxy in front of it
 * fails SQS entries and calls, holds calls, cuts and stalls downloads; every worker invocation is
 * a process of its own, and `kills` of them are killed with SIGKILL at a random moment, their
 * task delivered again as SQS would after the visibility timeout. At the end every message of the
 * target queue is read: each object of the report must be there at least once.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const chance = random(options.seed);
  const emulator = await startEmulator();
  const proxy = await startEmulatorProxy(emulator.endpoint, chaosFaults(chance));
  try {
    Object.assign(process.env, emulatorEnvironment(emulator.endpoint));
    const { s3, sqs } = createAwsClients({ concurrency: 16, endpointUrl: emulator.endpoint });
    await s3.send(new CreateBucketCommand({ Bucket: DEMO.inventoryBucket }));
    // A standard queue: the messages a kill makes the workers send again stay visible as such.
    const queueUrl = await createQueue(sqs, 'chaos-objects');
    const { workQueueUrl, deadLetterQueueUrl } = await createWorkQueue(sqs, DEMO.workQueueName, DEMO.maxReceiveCount);
    const start = options.mode === 'backfill' ? startBackfill : startInventory;
    const { begin, describe } = await start(s3, sqs, workQueueUrl, options);

    const started = performance.now();
    const run = await begin();
    const workers = new KilledWorkers(options, chance, workerEnvironment(options, proxy.endpoint, queueUrl, workQueueUrl));
    const [report] = await runWorkersUntilRunsEnd<RunReport | BackfillReport>({
      s3,
      sqs,
      runs: [run],
      workQueueUrl,
      deadLetterQueueUrl,
      workers: options.workers,
      worker: (event) => workers.invoke(event),
      deadLetter: (event) => recordDeadLetters(event, s3, options.log),
      retryDelaySeconds: 0,
      log: options.log,
    });
    const durationMs = Math.round(performance.now() - started);
    const depth = await queueDepth(sqs, queueUrl);
    const distinctKeys = await countDistinctKeys(sqs, queueUrl);
    const { entriesFailed, requestsFailed, requestsHeld, responsesCut, responsesStalled } = proxy.counts;
    const done = report as RunReport | BackfillReport;
    return {
      objects: options.objects,
      published: done.totals.published,
      queueDepth: depth,
      distinctKeys,
      lost: options.objects - distinctKeys,
      kills: workers.kills,
      invocations: workers.invocations,
      mode: options.mode,
      status: done.status,
      ...describe(done),
      continuations: done.totals.continuations,
      faults: { entriesFailed, requestsFailed, requestsHeld, responsesCut, responsesStalled },
      durationMs,
      totals: done.totals,
    };
  } finally {
    await proxy.stop();
    await emulator.stop();
  }
}

/** How a chaos run starts, once its queues exist: what it writes first, then the run's first step and its figures. */
interface ChaosStart {
  begin: () => Promise<RunFolder>;
  describe: (report: RunReport | BackfillReport) => Pick<ChaosResult, 'shards' | 'ranges' | 'rangesWithKeys'>;
}

/** A report of `objects` rows in `files` data files, claimed and fanned out as the inventory function does. */
async function startInventory(s3: S3Client, sqs: SQSClient, workQueueUrl: string, options: ChaosOptions): Promise<ChaosStart> {
  const { manifest } = await writeDemoReport(s3, sampleInventoryRows(options.objects), options.objects, options.files);
  return {
    begin: async () => {
      await startInventoryRun(manifest, { s3, work: sqs, workQueueUrl, log: options.log, deadline: Date.now() + 60_000 });
      return runFolder(manifest);
    },
    describe: (report) => ('shards' in report ? { shards: report.shards } : {}),
  };
}

/** A bucket of `objects` objects, and a backfill run of it planned as the backfill function does. */
async function startBackfill(s3: S3Client, sqs: SQSClient, workQueueUrl: string, options: ChaosOptions): Promise<ChaosStart> {
  await s3.send(new CreateBucketCommand({ Bucket: DEMO.sourceBucket }));
  await seedBucket(s3, DEMO.sourceBucket, { count: options.objects, ...(options.keyShape && { shape: options.keyShape }) });
  const store = { bucket: DEMO.inventoryBucket, prefix: 'backfill/' };
  const runId = `chaos-${options.seed}`;
  return {
    begin: async () => {
      const context = { s3, work: sqs, workQueueUrl, store, runId, workerConcurrency: options.workers, log: options.log };
      await startBackfillRun({ bucket: DEMO.sourceBucket }, context);
      return backfillRunFolder(store, DEMO.sourceBucket, runId);
    },
    describe: (report) => ('ranges' in report ? { ranges: report.ranges, rangesWithKeys: report.rangesWithKeys } : {}),
  };
}

/** SQS entries and calls failed, calls held, downloads cut and stalled, at random. */
function chaosFaults(chance: () => number): ProxyFaults {
  const download = (method: string, path: string) => method === 'GET' && path.includes('.csv.gz');
  return {
    failEntry: () => (chance() < 0.01 ? { code: 'InternalError', senderFault: false } : undefined),
    failRequest: () => {
      const roll = chance();
      return roll < 0.01 ? 500 : roll < 0.02 ? 400 : undefined;
    },
    holdRequest: () => chance() < 0.005,
    cutResponse: (method, path) => (download(method, path) && chance() < 0.15 ? Math.floor(chance() * 200_000) : undefined),
    stallResponse: (method, path) => (download(method, path) && chance() < 0.1 ? Math.floor(chance() * 200_000) : undefined),
  };
}

/**
 * Workers talk to AWS through the proxy, with short deadlines so that held calls and stalled
 * downloads are given up on in a second.
 */
function workerEnvironment(options: ChaosOptions, endpoint: string, queueUrl: string, workQueueUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    QUEUE_URL: queueUrl,
    WORK_QUEUE_URL: workQueueUrl,
    REQUEST_TIMEOUT_MS: '1000',
    CHECKPOINT_INTERVAL_MS: '100',
    TIME_BUDGET_MS: String(options.timeBudgetMs),
    CONCURRENCY: '8',
    ...(options.shardRows !== undefined && { SHARD_ROWS: String(options.shardRows) }),
  };
}

/** Worker invocations, each a process of its own; `options.kills` of them are killed with SIGKILL. */
class KilledWorkers {
  kills = 0;
  invocations = 0;
  readonly #killed = new Set<string>();
  readonly #options: ChaosOptions;
  readonly #chance: () => number;
  readonly #environment: NodeJS.ProcessEnv;

  constructor(options: ChaosOptions, chance: () => number, environment: NodeJS.ProcessEnv) {
    this.#options = options;
    this.#chance = chance;
    this.#environment = environment;
  }

  async invoke(event: SQSEvent): Promise<SQSBatchResponse> {
    const record = event.Records[0];
    if (!record) return { batchItemFailures: [] };
    this.invocations += 1;
    const child = spawn(process.execPath, [WORKER_PROCESS, record.body, record.messageId], { env: this.#environment, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Until the kills are done, every task's first invocation is killed at a random moment of
    // its life (start-up, the check of the file, publishing), unless it ends first.
    const timer =
      this.kills < this.#options.kills && !this.#killed.has(record.messageId) ? this.#killLater(child, record.messageId) : undefined;
    const code = await exited;
    clearTimeout(timer);
    return { batchItemFailures: code === 0 ? [] : [{ itemIdentifier: record.messageId }] };
  }

  #killLater(child: ChildProcess, messageId: string): NodeJS.Timeout {
    return setTimeout(
      () => {
        if (child.exitCode !== null || this.kills >= this.#options.kills) return;
        this.kills += 1;
        this.#killed.add(messageId);
        child.kill('SIGKILL');
      },
      200 + this.#chance() * (this.#options.timeBudgetMs + 500),
    );
  }
}

/** Reads the whole queue, deleting as it goes; memory grows with the keys, as a check must. */
async function countDistinctKeys(sqs: SQSClient, queueUrl: string): Promise<number> {
  const keys = new Set<string>();
  await drainQueue(sqs, queueUrl, (message) => keys.add((JSON.parse(message.Body ?? '{}') as { key: string }).key));
  return keys.size;
}
