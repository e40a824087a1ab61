import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, PurgeQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../core/aws-clients.ts';
import { DEFAULTS } from '../../core/config.ts';
import { formatS3Uri } from '../../core/s3-location.ts';
import { emulatorEnvironment } from '../emulator.ts';
import type { InventoryFormat } from '../../inventory/manifest.ts';
import { FUNCTION_NODE_OPTIONS } from '../node-options.ts';
import { type InventoryRow, writeInventoryReport } from '../report-writer.ts';
import { type Measurement, machineCpuMs, median, perSecond, ratio } from './measurement.ts';
import { type TaskBundle, bundleTaskScript } from './task-bundle.ts';

const EMULATOR_SCRIPT = fileURLToPath(new URL('../../../bin/emulator.ts', import.meta.url));
export const BENCH_BUCKETS = { inventory: 'bench-inventory', source: 'bench-source' } as const;

/**
 * The benchmark's emulator, in a process of its own, and the measured tasks, each in a fresh
 * process (`bin/bench-task.ts`, bundled as the functions are) with the functions' Node.js options:
 * the CPU and the peak memory measured are the task's alone, as Lambda would see them.
 */
export class BenchSession {
  readonly endpoint: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly concurrency = DEFAULTS.concurrency;
  queueUrl = '';
  readonly #emulator: ChildProcess;
  readonly #tasks: TaskBundle;
  readonly #progress: (line: string) => void;

  private constructor(emulator: ChildProcess, tasks: TaskBundle, endpoint: string, progress: (line: string) => void) {
    this.#emulator = emulator;
    this.#tasks = tasks;
    this.endpoint = endpoint;
    this.#progress = progress;
    Object.assign(process.env, emulatorEnvironment(endpoint));
    ({ s3: this.s3, sqs: this.sqs } = createAwsClients({ concurrency: 32, endpointUrl: endpoint }));
  }

  static async start(progress: (line: string) => void): Promise<BenchSession> {
    const tasks = await bundleTaskScript();
    const emulator = spawn(process.execPath, [EMULATOR_SCRIPT, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const endpoint = await new Promise<string>((resolve, reject) => {
      emulator.stdout?.on('data', (chunk: Buffer) => {
        const match = /listening on (http:\/\/\S+?)\.?\s/.exec(chunk.toString());
        if (match?.[1]) resolve(match[1]);
      });
      emulator.once('exit', (code) => reject(new Error(`the emulator exited with ${code}`)));
    }).catch(async (error: unknown) => {
      await tasks.remove();
      throw error;
    });
    const session = new BenchSession(emulator, tasks, endpoint, progress);
    await session.s3.send(new CreateBucketCommand({ Bucket: BENCH_BUCKETS.inventory }));
    await session.s3.send(new CreateBucketCommand({ Bucket: BENCH_BUCKETS.source }));
    session.queueUrl = (await session.sqs.send(new CreateQueueCommand({ QueueName: 'bench-target' }))).QueueUrl ?? '';
    return session;
  }

  async stop(): Promise<void> {
    this.#emulator.kill();
    await Promise.all([once(this.#emulator, 'exit'), this.#tasks.remove()]);
  }

  /** A synthetic report of `total` rows in `files` data files of `format`; its manifest's URI. */
  async report(
    configId: string,
    rows: Iterable<InventoryRow>,
    total: number,
    files: number,
    format: InventoryFormat = 'CSV',
  ): Promise<string> {
    const written = await writeInventoryReport(this.s3, {
      format,
      sourceBucket: BENCH_BUCKETS.source,
      destinationBucket: BENCH_BUCKETS.inventory,
      prefix: 'inventory',
      configId,
      rows,
      rowsPerFile: Math.max(1, Math.ceil(total / files)),
    });
    return formatS3Uri(written.manifest);
  }

  /** One task in `processes` processes at once: the longest time, CPU summed, the largest RSS. */
  async measure(task: string, options: Record<string, unknown>, via = this.endpoint, processes = 1): Promise<Measurement> {
    const cpuBefore = machineCpuMs();
    const started = performance.now();
    const each = await Promise.all(Array.from({ length: processes }, () => this.#runTask(task, options, via)));
    const cpuAfter = machineCpuMs();
    const measurement: Measurement = {
      task: processes === 1 ? task : `${task} ×${processes}`,
      count: Math.max(...each.map((one) => one.count)),
      elapsedMs: Math.max(...each.map((one) => one.elapsedMs)),
      cpuMs: each.reduce((sum, one) => sum + one.cpuMs, 0),
      maxRssMb: Math.max(...each.map((one) => one.maxRssMb)),
      ...(cpuBefore !== undefined &&
        cpuAfter !== undefined && { machineBusy: ratio(cpuAfter - cpuBefore, (performance.now() - started) * availableParallelism()) }),
    };
    this.#progress(describe(task, measurement));
    // The emulator keeps every message: empty the queue so that its memory does not grow.
    await this.sqs.send(new PurgeQueueCommand({ QueueUrl: this.queueUrl }));
    return measurement;
  }

  /**
   * The lean send ceiling and the pipeline end to end, measured in turn `rounds` times: this
   * machine's speed drifts between measurements, not within a pair. The pair with the median ratio
   * (the lower of the middle two for an even count) is the one reported, with every round's ratio.
   */
  async ceilingAndEndToEnd(manifest: string, rows: number, rounds: number, via = this.endpoint): Promise<CeilingAndEndToEnd> {
    const pairs: Array<{ send: Measurement; endToEnd: Measurement; ratio: number }> = [];
    const { queueUrl, concurrency } = this;
    for (let round = 0; round < rounds; round += 1) {
      const send = await this.measure('send', { queueUrl, count: rows, concurrency, sqsClient: 'lean' }, via);
      const endToEnd = await this.measure('inventory', { manifest, queueUrl, concurrency }, via);
      pairs.push({ send, endToEnd, ratio: ratio(perSecond(endToEnd), perSecond(send)) });
    }
    const middle = median(pairs, (pair) => pair.ratio);
    return { send: middle.send, endToEnd: middle.endToEnd, ratios: pairs.map((pair) => pair.ratio) };
  }

  /** The reader of each format over the same rows: in each of `rounds` rounds, one format after another. */
  async readers(manifests: Record<ReaderFormat, string>, rounds: number): Promise<ReaderRounds> {
    const measured: ReaderRounds = [];
    for (let round = 0; round < rounds; round += 1) {
      const each: Partial<Record<ReaderFormat, Measurement>> = {};
      for (const format of READER_FORMATS) each[format] = await this.measure('parse', { manifest: manifests[format] });
      measured.push(each as Record<ReaderFormat, Measurement>);
    }
    return measured;
  }

  /** The original script's approach against the backfill and the inventory path, on one bucket. */
  async onBucket(bucketManifest: string, via = this.endpoint): Promise<BucketMeasurements> {
    const { queueUrl, concurrency } = this;
    const bucket = BENCH_BUCKETS.source;
    return {
      original: await this.measure('original', { bucket, queueUrl }, via),
      backfill: await this.measure('backfill', { bucket, queueUrl, concurrency }, via),
      inventory: await this.measure('inventory', { manifest: bucketManifest, queueUrl, concurrency }, via),
      listSequential: await this.measure('listSequential', { bucket }, via),
      listParallel: await this.measure('listParallel', { bucket }, via),
    };
  }

  async #runTask(task: string, options: Record<string, unknown>, via: string): Promise<Measurement> {
    const { stdout } = await promisify(execFile)(process.execPath, [this.#tasks.script, task, JSON.stringify(options)], {
      // The functions' own Node.js options: the memory measured is what Lambda would see. `gc`
      // only lets a task collect the garbage of what it made before its measured work.
      env: { ...process.env, AWS_ENDPOINT_URL: via, NODE_OPTIONS: `${FUNCTION_NODE_OPTIONS} --expose-gc` },
      maxBuffer: 1 << 20,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Measurement;
  }
}

export const READER_FORMATS = ['csv', 'parquet', 'orc'] as const;
export type ReaderFormat = (typeof READER_FORMATS)[number];
/** Each round's measurement of every format's reader. */
export type ReaderRounds = Array<Record<ReaderFormat, Measurement>>;

export interface CeilingAndEndToEnd {
  send: Measurement;
  endToEnd: Measurement;
  /** Every round's end to end / ceiling. */
  ratios: number[];
}

export interface BucketMeasurements {
  original: Measurement;
  backfill: Measurement;
  inventory: Measurement;
  listSequential: Measurement;
  listParallel: Measurement;
}

function describe(task: string, m: Measurement): string {
  const rate = perSecond(m).toLocaleString('en-US').padStart(9);
  const seconds = (m.elapsedMs / 1000).toFixed(1).padStart(6);
  return `  ${task.padEnd(16)} ${String(m.count).padStart(9)} in ${seconds} s: ${rate}/s, ${m.cpuMs} ms CPU, ${m.maxRssMb} MB peak RSS, machine busy ${m.machineBusy ?? '?'}`;
}
