import { renderChart } from './chart.ts';
import { type FleetFigures, fleetRows } from './fleet.ts';
import { type Measurement, cpuSecPerMillion, median, perSecond, ratio } from './measurement.ts';
import { type BucketMeasurements, type CeilingAndEndToEnd, READER_FORMATS, type ReaderFormat, type ReaderRounds } from './session.ts';

/** Everything one run of the benchmark measured, before it is shaped into figures. */
export interface BenchMeasurements {
  command: string;
  rows: number;
  files: number;
  concurrency: number;
  bucketObjects: number;
  latencyMs: number;
  /** The reader of each format over the same rows, round by round. */
  readers: ReaderRounds;
  verify: Measurement;
  skip: Measurement;
  sdkSend: Measurement;
  loopback: CeilingAndEndToEnd & { bucket: BucketMeasurements };
  withLatency?: CeilingAndEndToEnd & { sdkSend: Measurement; bucket: BucketMeasurements };
  scale: Array<{ rows: number; measured: Measurement }>;
  scaleOut?: ScaleOutFigures;
  fleet?: FleetFigures;
  live?: LiveMeasurement;
}

/** The live function's run, the report path's beside it, and the record objects it wrote. */
export interface LiveMeasurement {
  measured: Measurement;
  /** The report path end to end, measured just before `measured`. */
  reportPath: Measurement;
  /** Every round's live / report path CPU per message. */
  ratios: number[];
  /** Events of every round: what the record objects stand for. */
  events: number;
  recordObjects: number;
  recordBytes: number;
}

export type BenchResults = ReturnType<typeof benchResults>;

/** The figures `bench-results/latest.json` holds: rates, CPU per million, ratios side by side. */
export function benchResults(m: BenchMeasurements) {
  const { send, endToEnd } = m.loopback;
  const parse = medianRound(m.readers, 'csv');
  return {
    date: new Date().toISOString(),
    command: m.command,
    rows: m.rows,
    files: m.files,
    concurrency: m.concurrency,
    bucketObjects: m.bucketObjects,
    parseRowsPerSec: perSecond(parse),
    readers: readerFigures(m.readers),
    // What a continuation pays per row done before it: gunzip and newline counting, no parsing.
    skipRowsPerSec: perSecond(m.skip),
    verifyRowsPerSec: perSecond(m.verify),
    // The integrity pass runs before publishing: its CPU per million rows against the pipeline's.
    verifyCpuSecPerMillion: cpuSecPerMillion(m.verify),
    // The stock SDK's bare sends: the reference the whole pipeline is held against.
    sdkSendCeilingMsgsPerSec: perSecond(m.sdkSend),
    sdkSendCpuSecPerMillion: cpuSecPerMillion(m.sdkSend),
    // The JSON-protocol sender's bare sends: the ceiling of the pipeline, which uses it.
    sendCeilingMsgsPerSec: perSecond(send),
    leanSendCpuSecPerMillion: cpuSecPerMillion(send),
    endToEndMsgsPerSec: perSecond(endToEnd),
    endToEndVsCeiling: ratio(perSecond(endToEnd), perSecond(send)),
    endToEndVsCeilingRounds: m.loopback.ratios,
    // Where one core runs reading and sending, the endToEndVsCeiling it reaches if publishing cost
    // nothing beyond the bare sends: their CPU over theirs plus the reader's and the integrity pass's.
    readingBound: ratio(cpuSecPerMillion(send), cpuSecPerMillion(send) + cpuSecPerMillion(parse) + cpuSecPerMillion(m.verify)),
    machineBusy: { send: send.machineBusy, endToEnd: endToEnd.machineBusy },
    cpuSecPerMillion: cpuSecPerMillion(endToEnd),
    cpuVsSdkSend: ratio(cpuSecPerMillion(endToEnd), cpuSecPerMillion(m.sdkSend)),
    verifyShareOfCpu: ratio(cpuSecPerMillion(m.verify), cpuSecPerMillion(endToEnd)),
    peakRssMb: endToEnd.maxRssMb,
    ...bucketFigures(m.loopback.bucket),
    ...(m.withLatency && { latency: latencyFigures(m.latencyMs, m.withLatency) }),
    scale: m.scale.map(({ rows, measured }) => ({
      rows,
      msgsPerSec: perSecond(measured),
      peakRssMb: measured.maxRssMb,
      cpuSecPerMillion: cpuSecPerMillion(measured),
    })),
    ...(m.scaleOut && { scaleOut: m.scaleOut }),
    ...(m.fleet && { fleet: m.fleet }),
    ...(m.live && { live: liveFigures(m.live) }),
  };
}

/**
 * Each format's reader: the median round's rows/s and CPU, the largest peak RSS of any round, and
 * its rows/s over CSV's in each round, both measured side by side.
 */
function readerFigures(rounds: ReaderRounds) {
  const figures = (format: ReaderFormat) => {
    const middle = medianRound(rounds, format);
    return {
      rowsPerSec: perSecond(middle),
      cpuSecPerMillion: cpuSecPerMillion(middle),
      peakRssMb: Math.max(...rounds.map((round) => round[format].maxRssMb)),
      vsCsvRounds: rounds.map((round) => ratio(perSecond(round[format]), perSecond(round.csv))),
    };
  };
  return Object.fromEntries(READER_FORMATS.map((format) => [format, figures(format)])) as Record<ReaderFormat, ReturnType<typeof figures>>;
}

/** The round in which `format`'s reader ran at its median rate. */
function medianRound(rounds: ReaderRounds, format: ReaderFormat): Measurement {
  return median(
    rounds.map((round) => round[format]),
    perSecond,
  );
}

/**
 * The live path against the report path, per message, measured in turn (the median of the
 * rounds' ratios); and what its record costs per million live keys: bytes, PUTs (one per
 * invocation and source bucket), and the next run's reads of it (one GET per record object, one
 * listing per hour of the window).
 */
function liveFigures(live: LiveMeasurement) {
  const perMillion = (value: number) => Math.round((value * 1_000_000) / Math.max(1, live.events));
  return {
    events: live.measured.count,
    msgsPerSec: perSecond(live.measured),
    cpuSecPerMillion: cpuSecPerMillion(live.measured),
    reportPathCpuSecPerMillion: cpuSecPerMillion(live.reportPath),
    cpuVsReportPath: ratio(cpuSecPerMillion(live.measured), cpuSecPerMillion(live.reportPath)),
    cpuVsReportPathRounds: live.ratios,
    recordBytesPerMillion: perMillion(live.recordBytes),
    recordPutsPerMillion: perMillion(live.recordObjects),
    recordGetsPerMillion: perMillion(live.recordObjects),
  };
}

function liveRows(live: BenchResults['live']): Array<[string, string | number]> {
  if (!live) return [];
  return [
    ['live path msgs/s, CPU-s per million', `${live.msgsPerSec}, ${live.cpuSecPerMillion}`],
    ['report path beside it, CPU-s per million', live.reportPathCpuSecPerMillion],
    ['live path CPU / report path CPU per message', `${live.cpuVsReportPath} (rounds: ${live.cpuVsReportPathRounds.join(', ')})`],
    [
      'live record per million keys',
      `${live.recordBytesPerMillion} bytes, ${live.recordPutsPerMillion} PUTs, ${live.recordGetsPerMillion} GETs`,
    ],
  ];
}

function latencyFigures(latencyMs: number, measured: NonNullable<BenchMeasurements['withLatency']>) {
  return {
    latencyMs,
    sdkSendCeilingMsgsPerSec: perSecond(measured.sdkSend),
    sendCeilingMsgsPerSec: perSecond(measured.send),
    endToEndMsgsPerSec: perSecond(measured.endToEnd),
    endToEndVsCeiling: ratio(perSecond(measured.endToEnd), perSecond(measured.send)),
    endToEndVsCeilingRounds: measured.ratios,
    machineBusy: { send: measured.send.machineBusy, endToEnd: measured.endToEnd.machineBusy },
    cpuSecPerMillion: cpuSecPerMillion(measured.endToEnd),
    ...bucketFigures(measured.bucket),
  };
}

type BucketFigures = ReturnType<typeof bucketFigures>;

function bucketFigures(measured: BucketMeasurements) {
  return {
    originalMsgsPerSec: perSecond(measured.original),
    backfillMsgsPerSec: perSecond(measured.backfill),
    inventoryMsgsPerSec: perSecond(measured.inventory),
    speedupVsOriginal: ratio(perSecond(measured.inventory), perSecond(measured.original)),
    backfillSpeedupVsOriginal: ratio(perSecond(measured.backfill), perSecond(measured.original)),
    listingSequentialKeysPerSec: perSecond(measured.listSequential),
    listingParallelKeysPerSec: perSecond(measured.listParallel),
    listingSpeedup: ratio(perSecond(measured.listParallel), perSecond(measured.listSequential)),
  };
}

export interface ScaleOutPlan {
  rows: number;
  shards: number;
  shardRows: number;
  latencyMs: number;
  /** Measured rows/s of the integrity pass and the skip, and one worker's messages/s. */
  rates: { verify: number; skip: number; publish: number };
}

export type ScaleOutFigures = ReturnType<typeof scaleOutFigures>;

/**
 * The scale-out runs, and what the same shards take on Lambda, where each worker has a vCPU of its
 * own (here the workers share two cores): the integrity pass, then shards taken in order by the
 * first free worker, each skipping to its start and publishing at one process's measured rate.
 */
export function scaleOutFigures(runs: Array<{ workers: number; measured: Measurement }>, plan: ScaleOutPlan) {
  const lambdaSeconds = (workers: number) => {
    const busyUntil = Array.from({ length: workers }, () => 0);
    for (let shard = 0; shard < plan.shards; shard += 1) {
      const first = busyUntil.indexOf(Math.min(...busyUntil));
      busyUntil[first] = (busyUntil[first] ?? 0) + (shard * plan.shardRows) / plan.rates.skip + plan.shardRows / plan.rates.publish;
    }
    return plan.rows / plan.rates.verify + Math.max(...busyUntil);
  };
  const seconds = (workers: number) => runs.find((run) => run.workers === workers)?.measured.elapsedMs;
  // The speed-ups compare the most workers measured with one.
  const most = runs.reduce((largest, run) => Math.max(largest, run.workers), 1);
  const one = seconds(1);
  const many = seconds(most);
  return {
    rows: plan.rows,
    shards: plan.shards,
    shardRows: plan.shardRows,
    latencyMs: plan.latencyMs,
    runs: runs.map(({ workers, measured }) => ({
      workers,
      machineBusy: measured.machineBusy,
      seconds: Number((measured.elapsedMs / 1000).toFixed(1)),
      msgsPerSec: perSecond(measured),
      cpuSecPerMillion: cpuSecPerMillion(measured),
      peakRssMb: measured.maxRssMb,
      lambdaModelSeconds: Number(lambdaSeconds(workers).toFixed(1)),
    })),
    speedupWorkers: most,
    shardSpeedup: one !== undefined && many !== undefined ? ratio(one, many) : undefined,
    lambdaModelRates: plan.rates,
    lambdaModelSpeedup: ratio(lambdaSeconds(1), lambdaSeconds(most)),
  };
}

/** The results as the lines of a two-column table, for the terminal. */
export function resultTable(results: BenchResults): Array<[string, string | number]> {
  const rounds = (figures: { endToEndVsCeiling: number; endToEndVsCeilingRounds: number[] }) =>
    `${figures.endToEndVsCeiling} (rounds: ${figures.endToEndVsCeilingRounds.join(', ')})`;
  const busy = (figures: { machineBusy: { send?: number | undefined; endToEnd?: number | undefined } }) =>
    `${figures.machineBusy.send ?? '?'} / ${figures.machineBusy.endToEnd ?? '?'}`;
  return [
    ...READER_FORMATS.map((format): [string, string] => {
      const reader = results.readers[format];
      const vsCsv = format === 'csv' ? '' : `, ${reader.vsCsvRounds.join(' / ')} of CSV's by round`;
      return [
        `reader, ${format}`,
        `${reader.rowsPerSec.toLocaleString('en-US')} rows/s, ${reader.cpuSecPerMillion} CPU-s per million, ${reader.peakRssMb} MB${vsCsv}`,
      ];
    }),
    ['integrity pass rows/s', results.verifyRowsPerSec],
    ['continuation skip rows/s', results.skipRowsPerSec],
    ['integrity pass CPU / end to end CPU', results.verifyShareOfCpu],
    ['SDK send ceiling msgs/s', results.sdkSendCeilingMsgsPerSec],
    ['SDK send CPU-s per million', results.sdkSendCpuSecPerMillion],
    ['send ceiling msgs/s', results.sendCeilingMsgsPerSec],
    ['send CPU-s per million', results.leanSendCpuSecPerMillion],
    ['end to end msgs/s', results.endToEndMsgsPerSec],
    ['end to end / ceiling', rounds(results)],
    ['end to end / ceiling, bound by reading', results.readingBound],
    ['machine busy: send / end to end', busy(results)],
    ['end to end CPU-s per million', results.cpuSecPerMillion],
    ['end to end CPU / SDK send CPU', results.cpuVsSdkSend],
    ['end to end peak RSS MB', results.peakRssMb],
    ['speed-up vs original (inventory)', results.speedupVsOriginal],
    ['speed-up vs original (backfill)', results.backfillSpeedupVsOriginal],
    ['parallel / sequential listing', results.listingSpeedup],
    ...latencyRows(results.latency, rounds, busy),
    ...results.scale.map((point): [string, string] => [`scale ${point.rows}`, `${point.msgsPerSec} msgs/s, ${point.peakRssMb} MB`]),
    ...scaleOutRows(results.scaleOut),
    ...fleetRows(results.fleet),
    ...liveRows(results.live),
  ];
}

function latencyRows(
  latency: BenchResults['latency'],
  rounds: (figures: NonNullable<BenchResults['latency']>) => string,
  busy: (figures: NonNullable<BenchResults['latency']>) => string,
): Array<[string, string | number]> {
  if (!latency) return [];
  const plus = `+${latency.latencyMs} ms`;
  return [
    [`${plus}: SDK send ceiling msgs/s`, latency.sdkSendCeilingMsgsPerSec],
    [`${plus}: send ceiling msgs/s`, latency.sendCeilingMsgsPerSec],
    [`${plus}: end to end / ceiling`, rounds(latency)],
    [`${plus}: machine busy, send / end to end`, busy(latency)],
    [`${plus}: end to end msgs/s`, latency.endToEndMsgsPerSec],
    [`${plus}: speed-up vs original`, latency.speedupVsOriginal],
    [`${plus}: backfill vs original`, latency.backfillSpeedupVsOriginal],
    [`${plus}: parallel / sequential listing`, latency.listingSpeedup],
  ];
}

function scaleOutRows(scaleOut: ScaleOutFigures | undefined): Array<[string, string | number]> {
  if (!scaleOut) return [];
  return [
    ...scaleOut.runs.map((run): [string, string] => [
      `scale-out ${run.workers} workers`,
      `${run.seconds} s, ${run.cpuSecPerMillion} CPU-s per million, machine busy ${run.machineBusy ?? '?'} (Lambda model ${run.lambdaModelSeconds} s)`,
    ]),
    [`scale-out speed-up, ${scaleOut.speedupWorkers} workers`, scaleOut.shardSpeedup ?? '-'],
    [`scale-out speed-up, ${scaleOut.speedupWorkers} workers, Lambda model`, scaleOut.lambdaModelSpeedup],
  ];
}

/** The chart of `docs/bench.svg`: reading, publishing, the bucket against the original, and scale. */
export function resultChart(results: BenchResults): string {
  const bars = (label: string, figures: BucketFigures) => [
    { label: `original script ${label}`, value: figures.originalMsgsPerSec },
    { label: `backfill ${label}`, value: figures.backfillMsgsPerSec },
    { label: `inventory path ${label}`, value: figures.inventoryMsgsPerSec },
  ];
  const { latency, rows } = results;
  const plus = latency && `+${latency.latencyMs} ms`;
  const scaleBars = (value: (point: BenchResults['scale'][number]) => number) =>
    results.scale.map((point) => ({ label: `${point.rows.toLocaleString('en-US')} rows`, value: value(point) }));
  return renderChart(`s3-to-sqs benchmark, ${results.date.slice(0, 10)}: ${results.command}`, [
    {
      title: `reading ${rows.toLocaleString('en-US')} rows, one process`,
      unit: 'rows per second',
      bars: [
        { label: 'integrity pass (MD5 of the bytes)', value: results.verifyRowsPerSec },
        { label: 'reader, CSV (gunzip + CSV + keys)', value: results.readers.csv.rowsPerSec },
        { label: 'reader, Parquet (hyparquet)', value: results.readers.parquet.rowsPerSec },
        { label: 'reader, ORC', value: results.readers.orc.rowsPerSec },
      ],
    },
    {
      title: `publishing ${rows.toLocaleString('en-US')} messages, one process`,
      unit: 'messages per second',
      bars: [
        { label: 'SDK send ceiling, loopback', value: results.sdkSendCeilingMsgsPerSec },
        { label: 'send ceiling, loopback', value: results.sendCeilingMsgsPerSec },
        { label: 'end to end, loopback', value: results.endToEndMsgsPerSec },
        ...(latency
          ? [
              { label: `SDK send ceiling, ${plus}`, value: latency.sdkSendCeilingMsgsPerSec },
              { label: `send ceiling, ${plus}`, value: latency.sendCeilingMsgsPerSec },
              { label: `end to end, ${plus}`, value: latency.endToEndMsgsPerSec },
            ]
          : []),
      ],
    },
    {
      title: `a bucket of ${results.bucketObjects.toLocaleString('en-US')} objects`,
      unit: 'messages per second',
      bars: [...bars('(loopback)', results), ...(latency ? bars(`(${plus})`, latency) : [])],
    },
    { title: 'scale, end to end', unit: 'peak RSS MB', bars: scaleBars((point) => point.peakRssMb) },
    { title: 'scale, end to end', unit: 'messages per second', bars: scaleBars((point) => point.msgsPerSec) },
  ]);
}
