// `npm run bench`: the pipeline measured against its limits and against the original script's
// approach, side by side in one run, on the emulator in a process of its own. See README, "Benchmark".
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../lib/core/aws-clients.ts';
import { wholeNumberOption } from '../lib/cli/options.ts';
import { DEFAULTS } from '../lib/core/config.ts';
import { emulatorEnvironment } from '../lib/local/emulator.ts';
import { startEmulatorProxy } from '../lib/local/proxy.ts';
import { writeInventoryReport, type InventoryRow } from '../lib/local/report-writer.ts';
import { sampleInventoryRows, seedBucket } from '../lib/local/sample-objects.ts';
import { formatS3Uri } from '../lib/core/s3-location.ts';
import { createWorkQueue } from '../lib/local/demo.ts';
import { FUNCTION_NODE_OPTIONS } from '../lib/local/node-options.ts';
import { startInventoryRun } from '../lib/run/fan-out.ts';
import type { Log } from '../lib/core/types.ts';
import { renderChart } from './bench-chart.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    files: { type: 'string', default: '8' },
    'latency-ms': { type: 'string', default: '15' },
    'bucket-objects': { type: 'string', default: '20000' },
    scale: { type: 'string', default: '100000,1000000' },
    'scale-out-rows': { type: 'string', default: '200000' },
    'scale-out-workers': { type: 'string', default: '1,2,4,8' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results/latest.json' },
    chart: { type: 'string', default: 'docs/bench.svg' },
  },
});
const rows = wholeNumberOption('rows', values.rows);
const files = Math.max(1, wholeNumberOption('files', values.files));
const latencyMs = wholeNumberOption('latency-ms', values['latency-ms']);
const bucketObjects = wholeNumberOption('bucket-objects', values['bucket-objects']);
const scale = values.scale
  .split(',')
  .filter(Boolean)
  .map((size) => wholeNumberOption('scale', size));
const scaleOutRows = wholeNumberOption('scale-out-rows', values['scale-out-rows']);
const rounds = wholeNumberOption('rounds', values.rounds, 1);
const scaleOutWorkers = values['scale-out-workers']
  .split(',')
  .filter(Boolean)
  .map((count) => wholeNumberOption('scale-out-workers', count, 1));
const progress = (line: string) => {
  if (!values.json) console.log(line);
  else console.error(line);
};

interface Measurement {
  task: string;
  count: number;
  elapsedMs: number;
  cpuMs: number;
  maxRssMb: number;
  /** How much of the machine every process kept busy meanwhile (Linux): near 1, the machine is the bound. */
  machineBusy?: number;
}
const perSecond = (m: Measurement) => Math.round(m.count / (m.elapsedMs / 1000));
const cpuSecPerMillion = (m: Measurement) => Number(((m.cpuMs / 1000) * (1_000_000 / Math.max(m.count, 1))).toFixed(1));
const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
// USER_HZ, 100 on every Linux architecture Node runs on.
const CLOCK_TICKS_PER_SECOND = 100;
const quietLog: Log = { debug() {}, info() {}, warn() {}, error: (message) => console.error(message) };

// The emulator gets a process of its own: the measured processes share the machine only with it.
const emulator = spawn(process.execPath, [fileURLToPath(new URL('./emulator.ts', import.meta.url)), '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const endpoint = await new Promise<string>((resolve, reject) => {
  emulator.stdout.on('data', (chunk: Buffer) => {
    const match = /listening on (http:\/\/\S+?)\.?\s/.exec(chunk.toString());
    if (match?.[1]) resolve(match[1]);
  });
  emulator.once('exit', (code) => reject(new Error(`the emulator exited with ${code}`)));
});
Object.assign(process.env, emulatorEnvironment(endpoint));
const { s3, sqs } = createAwsClients({ concurrency: 32, endpointUrl: endpoint });

async function runTask(task: string, options: Record<string, unknown>, via: string): Promise<Measurement> {
  const script = fileURLToPath(new URL('./bench-task.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script, task, JSON.stringify(options)], {
    // The functions' own Node.js options: the memory measured is what Lambda would see.
    env: { ...process.env, AWS_ENDPOINT_URL: via, NODE_OPTIONS: FUNCTION_NODE_OPTIONS },
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Measurement;
}

/** One task in `processes` processes at once: the longest time, CPU summed, the largest RSS. */
async function measure(task: string, options: Record<string, unknown>, via = endpoint, processes = 1): Promise<Measurement> {
  const cpuBefore = machineCpuMs();
  const started = performance.now();
  const each = await Promise.all(Array.from({ length: processes }, () => runTask(task, options, via)));
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
  progress(
    `  ${task.padEnd(16)} ${String(measurement.count).padStart(9)} in ${(measurement.elapsedMs / 1000).toFixed(1).padStart(6)} s: ${perSecond(measurement).toLocaleString('en-US').padStart(9)}/s, ${measurement.cpuMs} ms CPU, ${measurement.maxRssMb} MB peak RSS, machine busy ${measurement.machineBusy ?? '?'}`,
  );
  // The emulator keeps every message: empty the queue so that its memory does not grow.
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  return measurement;
}

/**
 * The scale-out runs, and what the same shards take on Lambda, where each worker has a vCPU of its
 * own (here the workers share two cores): the integrity pass, then shards taken in order by the
 * first free worker, each skipping to its start and publishing at one process's measured rate.
 */
function scaleOutFigures(
  runs: Array<{ workers: number; measured: Measurement }>,
  plan: { rows: number; shards: number; shardRows: number; rates: { verify: number; skip: number; publish: number } },
) {
  const lambdaSeconds = (workers: number) => {
    const busyUntil = Array.from({ length: workers }, () => 0);
    for (let shard = 0; shard < plan.shards; shard += 1) {
      const first = busyUntil.indexOf(Math.min(...busyUntil));
      busyUntil[first] = (busyUntil[first] ?? 0) + (shard * plan.shardRows) / plan.rates.skip + plan.shardRows / plan.rates.publish;
    }
    return plan.rows / plan.rates.verify + Math.max(...busyUntil);
  };
  const seconds = (workers: number) => runs.find((run) => run.workers === workers)?.measured.elapsedMs;
  const one = seconds(1);
  const eight = seconds(8);
  return {
    rows: plan.rows,
    shards: plan.shards,
    shardRows: plan.shardRows,
    latencyMs,
    runs: runs.map(({ workers, measured }) => ({
      workers,
      machineBusy: measured.machineBusy,
      seconds: Number((measured.elapsedMs / 1000).toFixed(1)),
      msgsPerSec: perSecond(measured),
      cpuSecPerMillion: cpuSecPerMillion(measured),
      peakRssMb: measured.maxRssMb,
      lambdaModelSeconds: Number(lambdaSeconds(workers).toFixed(1)),
    })),
    shardSpeedup8: one !== undefined && eight !== undefined ? ratio(one, eight) : undefined,
    lambdaModelRates: plan.rates,
    lambdaModelSpeedup8: ratio(lambdaSeconds(1), lambdaSeconds(8)),
  };
}

/** CPU time the whole machine has spent on user and system work so far (Linux), in ms. */
function machineCpuMs(): number | undefined {
  try {
    const [, user = 0, nice = 0, system = 0] = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).map(Number) ?? [];
    return ((user + nice + system) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * The lean send ceiling and the pipeline end to end, measured in turn `--rounds` times: this
 * machine's speed drifts between measurements, not within a pair. The pair with the median ratio
 * (the lower of the middle two for an even count) is the one reported, with every round's ratio.
 */
async function ceilingAndEndToEnd(manifest: string, via: string) {
  const pairs: Array<{ send: Measurement; endToEnd: Measurement; ratio: number }> = [];
  for (let round = 0; round < rounds; round += 1) {
    const send = await measure('send', { queueUrl, count: rows, concurrency, sqsClient: 'lean' }, via);
    const endToEnd = await measure('inventory', { manifest, queueUrl, concurrency }, via);
    pairs.push({ send, endToEnd, ratio: ratio(perSecond(endToEnd), perSecond(send)) });
  }
  const ratios = pairs.map((pair) => pair.ratio);
  const median = [...pairs].sort((a, b) => a.ratio - b.ratio)[Math.floor((pairs.length - 1) / 2)] as (typeof pairs)[number];
  return { send: median.send, endToEnd: median.endToEnd, ratios };
}

function syntheticRows(total: number): Generator<InventoryRow> {
  return (function* () {
    const lastModified = new Date();
    for (let index = 0; index < total; index += 1) {
      const key = `${createHash('sha256').update(String(index)).digest('hex')}.jpg`;
      yield { key, size: 1_000 + (index % 1_000), lastModified, etag: 'd41d8cd98f00b204e9800998ecf8427e' };
    }
  })();
}

async function report(configId: string, reportRows: Iterable<InventoryRow>, total: number): Promise<string> {
  const written = await writeInventoryReport(s3, {
    sourceBucket: 'bench-source',
    destinationBucket: 'bench-inventory',
    prefix: 'inventory',
    configId,
    rows: reportRows,
    rowsPerFile: Math.max(1, Math.ceil(total / files)),
  });
  return formatS3Uri(written.manifest);
}

await s3.send(new CreateBucketCommand({ Bucket: 'bench-inventory' }));
await s3.send(new CreateBucketCommand({ Bucket: 'bench-source' }));
const { QueueUrl: queueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'bench-target' }));
const concurrency = DEFAULTS.concurrency;

try {
  progress(`Synthetic inventory: ${rows.toLocaleString('en-US')} rows in ${files} files`);
  const manifest = await report('synthetic', syntheticRows(rows), rows);

  progress('Ceilings and end to end (emulator on loopback):');
  const verify = await measure('verify', { manifest });
  const parse = await measure('parse', { manifest });
  const skip = await measure('skip', { manifest, count: rows });
  const sdkSend = await measure('send', { queueUrl, count: rows, concurrency, sqsClient: 'sdk' });
  const { send, endToEnd, ratios: endToEndVsCeilingRounds } = await ceilingAndEndToEnd(manifest, endpoint);

  progress(`Against the original approach, on a bucket of ${bucketObjects.toLocaleString('en-US')} objects:`);
  await seedBucket(s3, 'bench-source', { count: bucketObjects });
  const bucketManifest = await report('bucket', sampleInventoryRows(bucketObjects), bucketObjects);
  const onBucket = async (via: string) => ({
    original: await measure('original', { bucket: 'bench-source', queueUrl }, via),
    backfill: await measure('backfill', { bucket: 'bench-source', queueUrl, concurrency }, via),
    inventory: await measure('inventory', { manifest: bucketManifest, queueUrl, concurrency }, via),
    listSequential: await measure('listSequential', { bucket: 'bench-source' }, via),
    listParallel: await measure('listParallel', { bucket: 'bench-source' }, via),
  });
  const loopback = await onBucket(endpoint);

  let withLatency:
    | ({ sdkSend: Measurement; bucket: Awaited<ReturnType<typeof onBucket>> } & Awaited<ReturnType<typeof ceilingAndEndToEnd>>)
    | undefined;
  if (latencyMs > 0) {
    progress(`The same with ${latencyMs} ms added to every call, as AWS takes:`);
    const proxy = await startEmulatorProxy(endpoint, { latencyMs, inspectBatches: false });
    try {
      withLatency = {
        sdkSend: await measure('send', { queueUrl, count: rows, concurrency, sqsClient: 'sdk' }, proxy.endpoint),
        ...(await ceilingAndEndToEnd(manifest, proxy.endpoint)),
        bucket: await onBucket(proxy.endpoint),
      };
    } finally {
      await proxy.stop();
    }
  }

  let scaleOut: ReturnType<typeof scaleOutFigures> | undefined;
  if (scaleOutRows > 0) {
    progress(
      `Scale-out: one data file of ${scaleOutRows.toLocaleString('en-US')} rows in ${Math.max(...scaleOutWorkers)} shards, worker processes at once, +${latencyMs} ms per call:`,
    );
    const shards = Math.max(...scaleOutWorkers);
    const shardRows = Math.ceil(scaleOutRows / shards);
    const work = await createWorkQueue(sqs, 'bench-work', 3);
    const proxy = await startEmulatorProxy(endpoint, { latencyMs, inspectBatches: false });
    const runs: Array<{ workers: number; measured: Measurement }> = [];
    try {
      for (const workers of scaleOutWorkers) {
        const written = await writeInventoryReport(s3, {
          sourceBucket: 'bench-source',
          destinationBucket: 'bench-inventory',
          prefix: 'inventory',
          configId: `scale-out-${workers}`,
          rows: syntheticRows(scaleOutRows),
          rowsPerFile: scaleOutRows,
        });
        await startInventoryRun(written.manifest, {
          s3,
          work: sqs,
          workQueueUrl: work.workQueueUrl,
          log: quietLog,
          deadline: Date.now() + 60_000,
        });
        const options = { manifest: formatS3Uri(written.manifest), queueUrl, ...work, shardRows, concurrency };
        runs.push({ workers, measured: await measure('worker', options, proxy.endpoint, workers) });
      }
    } finally {
      await proxy.stop();
    }
    const rates = { verify: perSecond(verify), skip: perSecond(skip), publish: perSecond(withLatency?.endToEnd ?? endToEnd) };
    scaleOut = scaleOutFigures(runs, { rows: scaleOutRows, shards, shardRows, rates });
  }

  progress('Scale (end to end, loopback):');
  const scaleCurve = [];
  for (const size of scale) {
    const measured =
      size === rows
        ? endToEnd
        : await measure('inventory', { manifest: await report(`scale-${size}`, syntheticRows(size), size), queueUrl, concurrency });
    scaleCurve.push({
      rows: size,
      msgsPerSec: perSecond(measured),
      peakRssMb: measured.maxRssMb,
      cpuSecPerMillion: cpuSecPerMillion(measured),
    });
  }

  const bucketFigures = (measured: Awaited<ReturnType<typeof onBucket>>) => ({
    originalMsgsPerSec: perSecond(measured.original),
    backfillMsgsPerSec: perSecond(measured.backfill),
    inventoryMsgsPerSec: perSecond(measured.inventory),
    speedupVsOriginal: ratio(perSecond(measured.inventory), perSecond(measured.original)),
    backfillSpeedupVsOriginal: ratio(perSecond(measured.backfill), perSecond(measured.original)),
    listingSequentialKeysPerSec: perSecond(measured.listSequential),
    listingParallelKeysPerSec: perSecond(measured.listParallel),
    listingSpeedup: ratio(perSecond(measured.listParallel), perSecond(measured.listSequential)),
  });
  const results = {
    date: new Date().toISOString(),
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    rows,
    files,
    concurrency,
    bucketObjects,
    parseRowsPerSec: perSecond(parse),
    // What a continuation pays per row done before it: gunzip and newline counting, no parsing.
    skipRowsPerSec: perSecond(skip),
    verifyRowsPerSec: perSecond(verify),
    // The integrity pass runs before publishing: its CPU per million rows against the pipeline's.
    verifyCpuSecPerMillion: cpuSecPerMillion(verify),
    // The stock SDK's bare sends: the reference the whole pipeline is held against.
    sdkSendCeilingMsgsPerSec: perSecond(sdkSend),
    sdkSendCpuSecPerMillion: cpuSecPerMillion(sdkSend),
    // The JSON-protocol sender's bare sends: the ceiling of the pipeline, which uses it.
    sendCeilingMsgsPerSec: perSecond(send),
    leanSendCpuSecPerMillion: cpuSecPerMillion(send),
    endToEndMsgsPerSec: perSecond(endToEnd),
    endToEndVsCeiling: ratio(perSecond(endToEnd), perSecond(send)),
    endToEndVsCeilingRounds,
    // Where one core runs reading and sending, the endToEndVsCeiling it reaches if publishing cost
    // nothing beyond the bare sends: their CPU over theirs plus the reader's and the integrity pass's.
    readingBound: ratio(cpuSecPerMillion(send), cpuSecPerMillion(send) + cpuSecPerMillion(parse) + cpuSecPerMillion(verify)),
    machineBusy: { send: send.machineBusy, endToEnd: endToEnd.machineBusy },
    cpuSecPerMillion: cpuSecPerMillion(endToEnd),
    cpuVsSdkSend: ratio(cpuSecPerMillion(endToEnd), cpuSecPerMillion(sdkSend)),
    verifyShareOfCpu: ratio(cpuSecPerMillion(verify), cpuSecPerMillion(endToEnd)),
    peakRssMb: endToEnd.maxRssMb,
    ...bucketFigures(loopback),
    ...(withLatency && {
      latency: {
        latencyMs,
        sdkSendCeilingMsgsPerSec: perSecond(withLatency.sdkSend),
        sendCeilingMsgsPerSec: perSecond(withLatency.send),
        endToEndMsgsPerSec: perSecond(withLatency.endToEnd),
        endToEndVsCeiling: ratio(perSecond(withLatency.endToEnd), perSecond(withLatency.send)),
        endToEndVsCeilingRounds: withLatency.ratios,
        machineBusy: { send: withLatency.send.machineBusy, endToEnd: withLatency.endToEnd.machineBusy },
        cpuSecPerMillion: cpuSecPerMillion(withLatency.endToEnd),
        ...bucketFigures(withLatency.bucket),
      },
    }),
    scale: scaleCurve,
    ...(scaleOut && { scaleOut }),
  };

  await mkdir(new URL(`file://${process.cwd()}/${values.out}/..`).pathname, { recursive: true });
  await writeFile(values.out, `${JSON.stringify(results, null, 2)}\n`);
  await mkdir(new URL(`file://${process.cwd()}/${values.chart}/..`).pathname, { recursive: true });
  const bars = (label: string, figures: ReturnType<typeof bucketFigures>) => [
    { label: `original script ${label}`, value: figures.originalMsgsPerSec },
    { label: `backfill ${label}`, value: figures.backfillMsgsPerSec },
    { label: `inventory path ${label}`, value: figures.inventoryMsgsPerSec },
  ];
  await writeFile(
    values.chart,
    renderChart(`s3-to-sqs benchmark, ${results.date.slice(0, 10)}: ${results.command}`, [
      {
        title: `reading ${rows.toLocaleString('en-US')} rows, one process`,
        unit: 'rows per second',
        bars: [
          { label: 'integrity pass (MD5 + gunzip + rows)', value: results.verifyRowsPerSec },
          { label: 'reader (gunzip + CSV + keys)', value: results.parseRowsPerSec },
        ],
      },
      {
        title: `publishing ${rows.toLocaleString('en-US')} messages, one process`,
        unit: 'messages per second',
        bars: [
          { label: 'SDK send ceiling, loopback', value: results.sdkSendCeilingMsgsPerSec },
          { label: 'send ceiling, loopback', value: results.sendCeilingMsgsPerSec },
          { label: 'end to end, loopback', value: results.endToEndMsgsPerSec },
          ...(results.latency
            ? [
                { label: `SDK send ceiling, +${latencyMs} ms`, value: results.latency.sdkSendCeilingMsgsPerSec },
                { label: `send ceiling, +${latencyMs} ms`, value: results.latency.sendCeilingMsgsPerSec },
                { label: `end to end, +${latencyMs} ms`, value: results.latency.endToEndMsgsPerSec },
              ]
            : []),
        ],
      },
      {
        title: `a bucket of ${bucketObjects.toLocaleString('en-US')} objects`,
        unit: 'messages per second',
        bars: [
          ...bars('(loopback)', bucketFigures(loopback)),
          ...(withLatency ? bars(`(+${latencyMs} ms)`, bucketFigures(withLatency.bucket)) : []),
        ],
      },
      {
        title: 'scale, end to end',
        unit: 'peak RSS MB',
        bars: scaleCurve.map((point) => ({ label: `${point.rows.toLocaleString('en-US')} rows`, value: point.peakRssMb })),
      },
      {
        title: 'scale, end to end',
        unit: 'messages per second',
        bars: scaleCurve.map((point) => ({ label: `${point.rows.toLocaleString('en-US')} rows`, value: point.msgsPerSec })),
      },
    ]),
  );

  if (values.json) {
    console.log(JSON.stringify(results));
  } else {
    console.log('');
    const table: Array<[string, string | number]> = [
      ['reader (parse) rows/s', results.parseRowsPerSec],
      ['integrity pass rows/s', results.verifyRowsPerSec],
      ['continuation skip rows/s', results.skipRowsPerSec],
      ['integrity pass CPU / end to end CPU', results.verifyShareOfCpu],
      ['SDK send ceiling msgs/s', results.sdkSendCeilingMsgsPerSec],
      ['SDK send CPU-s per million', results.sdkSendCpuSecPerMillion],
      ['send ceiling msgs/s', results.sendCeilingMsgsPerSec],
      ['send CPU-s per million', results.leanSendCpuSecPerMillion],
      ['end to end msgs/s', results.endToEndMsgsPerSec],
      ['end to end / ceiling', `${results.endToEndVsCeiling} (rounds: ${results.endToEndVsCeilingRounds.join(', ')})`],
      ['end to end / ceiling, bound by reading', results.readingBound],
      ['machine busy: send / end to end', `${results.machineBusy.send ?? '?'} / ${results.machineBusy.endToEnd ?? '?'}`],
      ['end to end CPU-s per million', results.cpuSecPerMillion],
      ['end to end CPU / SDK send CPU', results.cpuVsSdkSend],
      ['end to end peak RSS MB', results.peakRssMb],
      ['speed-up vs original (inventory)', results.speedupVsOriginal],
      ['speed-up vs original (backfill)', results.backfillSpeedupVsOriginal],
      ['parallel / sequential listing', results.listingSpeedup],
      ...(results.latency
        ? ([
            [`+${latencyMs} ms: SDK send ceiling msgs/s`, results.latency.sdkSendCeilingMsgsPerSec],
            [`+${latencyMs} ms: send ceiling msgs/s`, results.latency.sendCeilingMsgsPerSec],
            [
              `+${latencyMs} ms: end to end / ceiling`,
              `${results.latency.endToEndVsCeiling} (rounds: ${results.latency.endToEndVsCeilingRounds.join(', ')})`,
            ],
            [
              `+${latencyMs} ms: machine busy, send / end to end`,
              `${results.latency.machineBusy.send ?? '?'} / ${results.latency.machineBusy.endToEnd ?? '?'}`,
            ],
            [`+${latencyMs} ms: end to end msgs/s`, results.latency.endToEndMsgsPerSec],
            [`+${latencyMs} ms: speed-up vs original`, results.latency.speedupVsOriginal],
            [`+${latencyMs} ms: backfill vs original`, results.latency.backfillSpeedupVsOriginal],
            [`+${latencyMs} ms: parallel / sequential listing`, results.latency.listingSpeedup],
          ] as Array<[string, string | number]>)
        : []),
      ...scaleCurve.map((point): [string, string] => [`scale ${point.rows}`, `${point.msgsPerSec} msgs/s, ${point.peakRssMb} MB`]),
      ...(scaleOut
        ? [
            ...scaleOut.runs.map((run): [string, string] => [
              `scale-out ${run.workers} workers`,
              `${run.seconds} s, ${run.cpuSecPerMillion} CPU-s per million, machine busy ${run.machineBusy ?? '?'} (Lambda model ${run.lambdaModelSeconds} s)`,
            ]),
            ['scale-out speed-up, 8 workers', scaleOut.shardSpeedup8 ?? '-'] as [string, number | string],
            ['scale-out speed-up, 8 workers, Lambda model', scaleOut.lambdaModelSpeedup8 ?? '-'] as [string, number | string],
          ]
        : []),
    ];
    for (const [name, value] of table)
      console.log(`${name.padEnd(40)} ${typeof value === 'number' ? value.toLocaleString('en-US') : value}`);
    console.log(`\nWritten ${values.out} and ${values.chart}.`);
  }
} finally {
  emulator.kill();
  await once(emulator, 'exit');
}
