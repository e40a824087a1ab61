// `npm run bench`: the pipeline measured against its limits and against the original script's
// approach, side by side in one run, on the emulator in a process of its own. See docs/performance.md.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { commandLine } from '../lib/cli/command-line.ts';
import { wholeNumberOption } from '../lib/cli/options.ts';
import type { Log } from '../lib/core/types.ts';
import { cpuSecPerMillion, type Measurement, median, perSecond, ratio, syntheticRows } from '../lib/local/bench/measurement.ts';
import { type BenchMeasurements, resultChart, resultTable, scaleOutFigures, benchResults } from '../lib/local/bench/results.ts';
import { BENCH_BUCKETS, BenchSession, type ReaderRounds } from '../lib/local/bench/session.ts';
import { createWorkQueue } from '../lib/local/demo.ts';
import { startEmulatorProxy } from '../lib/local/proxy.ts';
import { sampleInventoryRows, seedBucket } from '../lib/local/sample-objects.ts';
import { writeInventoryReport } from '../lib/local/report-writer.ts';
import { formatS3Uri } from '../lib/core/s3-location.ts';
import { startInventoryRun } from '../lib/run/fan-out.ts';
import { startBackfillRun } from '../lib/run/backfill-run.ts';
import { backfillRunFolder } from '../lib/run/state.ts';
import { type FleetFigures, type FleetRun, fleetFigures } from '../lib/local/bench/fleet.ts';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { listObjects } from '../lib/core/listing.ts';
import type { LiveMeasurement } from '../lib/local/bench/results.ts';

const list = (option: string, value: string, min = 0) =>
  value
    .split(',')
    .filter(Boolean)
    .map((item) => wholeNumberOption(option, item, min));
const SAVED = { out: 'bench-results/latest.json', chart: 'docs/bench.svg' };
const options = commandLine(
  {
    command: 'npm run bench --',
    summary:
      'Measures the pipeline against its limits and the original approach, side by side in one run, on the emulator (docs/performance.md).',
    options: {
      rows: { type: 'string', default: '1000000', description: 'rows of the synthetic report' },
      files: { type: 'string', default: '8', description: 'data files of the synthetic report' },
      'latency-ms': { type: 'string', default: '15', description: 'added to every call in the runs with latency (0: none)' },
      'bucket-objects': { type: 'string', default: '20000', description: 'objects of the bucket published against the original script' },
      scale: { type: 'string', default: '100000,1000000', description: 'report sizes of the scale runs' },
      'scale-out-rows': { type: 'string', default: '200000', description: 'rows of the scale-out file (0: no scale-out runs)' },
      'scale-out-workers': { type: 'string', default: '1,2,4,8', description: 'worker processes at once, one run each' },
      'live-events': {
        type: 'string',
        default: '200000',
        description: 'S3 events the live function publishes, in batches of 10,000 (0: none)',
      },
      'fleet-objects': {
        type: 'string',
        default: '100000',
        description: 'objects of the bucket the backfill fleet lists (0: no fleet runs)',
      },
      'fleet-workers': { type: 'string', default: '1,8', description: 'worker processes of the backfill fleet, one run each' },
      rounds: { type: 'string', default: '3', description: 'rounds of the side-by-side measurements' },
      json: { type: 'boolean', default: false, description: 'print the results as one JSON line' },
      save: { type: 'boolean', default: false, description: `write the results to ${SAVED.out} and ${SAVED.chart}` },
      out: { type: 'string', description: 'write the results JSON to this path' },
      chart: { type: 'string', description: 'write the chart (SVG) to this path' },
    },
  },
  (values) => ({
    ...values,
    rows: wholeNumberOption('rows', values.rows),
    files: Math.max(1, wholeNumberOption('files', values.files)),
    latencyMs: wholeNumberOption('latency-ms', values['latency-ms']),
    bucketObjects: wholeNumberOption('bucket-objects', values['bucket-objects']),
    scale: list('scale', values.scale),
    scaleOutRows: wholeNumberOption('scale-out-rows', values['scale-out-rows']),
    scaleOutWorkers: list('scale-out-workers', values['scale-out-workers'], 1),
    fleetObjects: wholeNumberOption('fleet-objects', values['fleet-objects']),
    liveEvents: wholeNumberOption('live-events', values['live-events']),
    fleetWorkers: list('fleet-workers', values['fleet-workers'], 1),
    rounds: wholeNumberOption('rounds', values.rounds, 1),
  }),
);
const progress = (line: string) => (options.json ? console.error(line) : console.log(line));
const quietLog: Log = { debug() {}, info() {}, warn() {}, error: (message) => console.error(message) };
const { rows, files, rounds, latencyMs, bucketObjects } = options;

const session = await BenchSession.start(progress);
try {
  const { queueUrl, concurrency } = session;
  progress(`Synthetic inventory: ${rows.toLocaleString('en-US')} rows in ${files} files`);
  const manifest = await session.report('synthetic', syntheticRows(rows), rows, files);

  progress('The reader of each format on the same rows, and the integrity pass:');
  const readers = await measureReaders(manifest);
  const verify = await session.measure('verify', { manifest, count: rows });

  progress('Ceilings and end to end (emulator on loopback):');
  const skip = await session.measure('skip', { manifest, count: rows });
  const sdkSend = await session.measure('send', { queueUrl, count: rows, concurrency, sqsClient: 'sdk' });
  const loopback = await session.ceilingAndEndToEnd(manifest, rows, rounds);

  progress(`Against the original approach, on a bucket of ${bucketObjects.toLocaleString('en-US')} objects:`);
  await seedBucket(session.s3, BENCH_BUCKETS.source, { count: bucketObjects });
  const bucketManifest = await session.report('bucket', sampleInventoryRows(bucketObjects), bucketObjects, files);
  const loopbackBucket = await session.onBucket(bucketManifest);
  const withLatency = latencyMs > 0 ? await measureWithLatency(manifest, bucketManifest) : undefined;

  const endToEndRate = perSecond(withLatency?.endToEnd ?? loopback.endToEnd);
  const scaleOut =
    options.scaleOutRows > 0
      ? await measureScaleOut({ verify: perSecond(verify), skip: perSecond(skip), publish: endToEndRate })
      : undefined;

  const live = options.liveEvents > 0 ? await measureLive() : undefined;
  const fleet = options.fleetObjects > 0 ? await measureBackfillFleet() : undefined;

  progress('Scale (end to end, loopback):');
  const scale: BenchMeasurements['scale'] = [];
  for (const size of options.scale) {
    const scaled = async () =>
      session.measure('inventory', {
        manifest: await session.report(`scale-${size}`, syntheticRows(size), size, files),
        queueUrl,
        concurrency,
      });
    scale.push({ rows: size, measured: size === rows ? loopback.endToEnd : await scaled() });
  }

  const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const measured = { command, rows, files, concurrency, bucketObjects, latencyMs, readers, verify, skip, sdkSend, scale };
  const results = benchResults({
    ...measured,
    loopback: { ...loopback, bucket: loopbackBucket },
    ...(withLatency && { withLatency }),
    ...(scaleOut && { scaleOut }),
    ...(fleet && { fleet }),
    ...(live && { live }),
  });
  await writeResults(results);
} finally {
  await session.stop();
}

/** The reader alone (download, decoding, row selection), in every format, over the same synthetic rows. */
async function measureReaders(csvManifest: string): Promise<ReaderRounds> {
  const columnar = async (format: 'Parquet' | 'ORC') => session.report(`synthetic-${format}`, syntheticRows(rows), rows, files, format);
  return session.readers({ csv: csvManifest, parquet: await columnar('Parquet'), orc: await columnar('ORC') }, rounds);
}

/** The same with `latencyMs` added to every call by a proxy, as AWS's round trip adds it. */
async function measureWithLatency(manifest: string, bucketManifest: string): Promise<BenchMeasurements['withLatency']> {
  progress(`The same with ${latencyMs} ms added to every call, as AWS takes:`);
  const proxy = await startEmulatorProxy(session.endpoint, { latencyMs, inspectBatches: false });
  try {
    const { queueUrl, concurrency } = session;
    const sdkSend = await session.measure('send', { queueUrl, count: rows, concurrency, sqsClient: 'sdk' }, proxy.endpoint);
    const ceiling = await session.ceilingAndEndToEnd(manifest, rows, rounds, proxy.endpoint);
    return { sdkSend, ...ceiling, bucket: await session.onBucket(bucketManifest, proxy.endpoint) };
  } finally {
    await proxy.stop();
  }
}

/** One data file in as many shards as the most workers, published by 1, 2, 4, 8 worker processes at once. */
async function measureScaleOut(rates: { verify: number; skip: number; publish: number }) {
  const shards = Math.max(...options.scaleOutWorkers);
  const scaleOutRows = options.scaleOutRows;
  progress(
    `Scale-out: one data file of ${scaleOutRows.toLocaleString('en-US')} rows in ${shards} shards, worker processes at once, +${latencyMs} ms per call:`,
  );
  const shardRows = Math.ceil(scaleOutRows / shards);
  const work = await createWorkQueue(session.sqs, 'bench-work', 3);
  const proxy = await startEmulatorProxy(session.endpoint, { latencyMs, inspectBatches: false });
  const runs: Array<{ workers: number; measured: Measurement }> = [];
  try {
    for (const workers of options.scaleOutWorkers) {
      const written = await writeInventoryReport(session.s3, {
        sourceBucket: BENCH_BUCKETS.source,
        destinationBucket: BENCH_BUCKETS.inventory,
        prefix: 'inventory',
        configId: `scale-out-${workers}`,
        rows: syntheticRows(scaleOutRows),
        rowsPerFile: scaleOutRows,
      });
      await startInventoryRun(written.manifest, {
        s3: session.s3,
        work: session.sqs,
        workQueueUrl: work.workQueueUrl,
        log: quietLog,
        deadline: Date.now() + 60_000,
      });
      const taskOptions = {
        manifest: formatS3Uri(written.manifest),
        queueUrl: session.queueUrl,
        ...work,
        shardRows,
        concurrency: session.concurrency,
      };
      runs.push({ workers, measured: await session.measure('worker', taskOptions, proxy.endpoint, workers) });
    }
  } finally {
    await proxy.stop();
  }
  return scaleOutFigures(runs, { rows: scaleOutRows, shards, shardRows, latencyMs, rates });
}

/**
 * The live function on `liveEvents` S3 events (loopback) and the report path end to end on the
 * same number of rows, in turn `rounds` times: the pair with the median ratio is reported. And
 * the record the live function wrote of them.
 */
async function measureLive(): Promise<LiveMeasurement> {
  progress(`The live path: ${options.liveEvents.toLocaleString('en-US')} S3 events in batches of 10,000, beside the report path:`);
  const { queueUrl, concurrency } = session;
  const manifest = await session.report('beside-live', syntheticRows(options.liveEvents), options.liveEvents, files);
  const pairs: Array<{ measured: Measurement; reportPath: Measurement; ratio: number }> = [];
  for (let round = 0; round < rounds; round += 1) {
    const reportPath = await session.measure('inventory', { manifest, queueUrl, concurrency });
    const measured = await session.measure('live', {
      bucket: BENCH_BUCKETS.source,
      queueUrl,
      concurrency,
      count: options.liveEvents,
      recordBucket: BENCH_BUCKETS.inventory,
    });
    pairs.push({ measured, reportPath, ratio: ratio(cpuSecPerMillion(measured), cpuSecPerMillion(reportPath)) });
  }
  let recordObjects = 0;
  let recordBytes = 0;
  for await (const object of listObjects(session.s3, BENCH_BUCKETS.inventory, 'live/')) {
    recordObjects += 1;
    recordBytes += object.Size ?? 0;
  }
  const { measured, reportPath } = median(pairs, (pair) => pair.ratio);
  return { measured, reportPath, ratios: pairs.map((pair) => pair.ratio), events: options.liveEvents * rounds, recordObjects, recordBytes };
}

/**
 * A backfill run of a bucket of `fleetObjects` keys planned and listed by 1, then 8, worker
 * processes at once (each a worker function as Lambda runs it), every call 15 ms later through the
 * proxy: keys/s side by side, CPU per million keys, and the model of 10^9 keys.
 */
async function measureBackfillFleet(): Promise<FleetFigures> {
  const bucket = 'bench-fleet';
  progress(
    `Backfill fleet: a bucket of ${options.fleetObjects.toLocaleString('en-US')} objects, worker processes at once, +${latencyMs} ms per call:`,
  );
  await session.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await seedBucket(session.s3, bucket, { count: options.fleetObjects });
  const work = await createWorkQueue(session.sqs, 'bench-fleet-work', 3);
  const store = { bucket: BENCH_BUCKETS.inventory, prefix: 'backfill/' };
  const proxy = await startEmulatorProxy(session.endpoint, { latencyMs, inspectBatches: false });
  const runs: FleetRun[] = [];
  try {
    for (const workers of options.fleetWorkers) {
      const runId = `fleet-${workers}`;
      const plan = {
        s3: session.s3,
        work: session.sqs,
        workQueueUrl: work.workQueueUrl,
        store,
        runId,
        workerConcurrency: workers,
        log: quietLog,
      };
      await startBackfillRun({ bucket }, plan);
      const taskOptions = {
        run: backfillRunFolder(store, bucket, runId),
        queueUrl: session.queueUrl,
        ...work,
        concurrency: session.concurrency,
      };
      runs.push({ workers, measured: await session.measure('worker', taskOptions, proxy.endpoint, workers) });
    }
  } finally {
    await proxy.stop();
  }
  return fleetFigures(runs, { objects: options.fleetObjects, latencyMs });
}

/** Prints the results; writes them to files only when asked (`--save`, `--out`, `--chart`). */
async function writeResults(results: ReturnType<typeof benchResults>): Promise<void> {
  const written: string[] = [];
  const write = async (path: string | undefined, text: string) => {
    if (path === undefined) return;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    written.push(path);
  };
  await write(options.out ?? (options.save ? SAVED.out : undefined), `${JSON.stringify(results, null, 2)}\n`);
  await write(options.chart ?? (options.save ? SAVED.chart : undefined), resultChart(results));
  if (options.json) {
    console.log(JSON.stringify(results));
    return;
  }
  console.log('');
  for (const [name, value] of resultTable(results))
    console.log(`${name.padEnd(40)} ${typeof value === 'number' ? value.toLocaleString('en-US') : value}`);
  console.log(written.length > 0 ? `\nWritten ${written.join(' and ')}.` : '\nNothing written (--save writes the results and the chart).');
}
