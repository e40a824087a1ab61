import { type Measurement, cpuSecPerMillion, perSecond, ratio } from './measurement.ts';

/**
 * What the model of a backfill on AWS assumes, each from ../shared/FACTS.md or the benchmark:
 * - a ListObjectsV2 page of 1,000 keys takes 0.1 to 0.3 s, and one range is listed a page after
 *   another (aws-samples/s3-fast-list: ~12,000 keys/s per listing, 100 listings ~1M keys/s), LIST
 *   limited per partitioned prefix apart from GET: 200 listings at once are assumed to scale as
 *   100 did;
 * - a worker (one vCPU) publishes at most what its CPU allows (the CPU-s per million measured
 *   here) and 64 SendMessageBatch calls of 10 per ~15 ms round trip;
 * - a standard queue takes any rate; a FIFO queue in high-throughput mode takes 700,000
 *   messages/s in us-east-1, us-west-2 and eu-west-1, less elsewhere;
 * - the ranges reach the workers within a few split rounds: a page, ~20 one-key probes and a hop
 *   through the work queue each.
 */
const MODEL = {
  keys: 1_000_000_000,
  workers: 200,
  pageSeconds: [0.1, 0.3] as const,
  probesPerSplit: 20,
  probeSeconds: 0.03,
  queueHopSeconds: 0.1,
  splitRounds: 3,
  sendCallsInFlight: 64,
  sendRoundTripSeconds: 0.015,
  fifoMessagesPerSecond: 700_000,
};

export interface FleetRun {
  workers: number;
  measured: Measurement;
}

export type FleetFigures = ReturnType<typeof fleetFigures>;

/** The fleet runs side by side (keys/s, CPU per million, speed-up of the most workers over one), and the model of 10^9 keys. */
export function fleetFigures(runs: FleetRun[], plan: { objects: number; latencyMs: number }) {
  const rate = (workers: number) => runs.find((run) => run.workers === workers)?.measured;
  const most = runs.reduce((largest, run) => Math.max(largest, run.workers), 1);
  const one = rate(1);
  const many = rate(most);
  // A Lambda worker has a vCPU of its own: its CPU per key is the one worker's, measured alone.
  const cpu = cpuSecPerMillion(one ?? (many as Measurement));
  return {
    objects: plan.objects,
    latencyMs: plan.latencyMs,
    runs: runs.map(({ workers, measured }) => ({
      workers,
      seconds: Number((measured.elapsedMs / 1000).toFixed(1)),
      keysPerSec: perSecond(measured),
      cpuSecPerMillion: cpuSecPerMillion(measured),
      machineBusy: measured.machineBusy,
      peakRssMb: measured.maxRssMb,
    })),
    speedupWorkers: most,
    speedup: one && many ? ratio(perSecond(many), perSecond(one)) : undefined,
    cpuSecPerMillion: cpu,
    model: billionKeyModel(cpu),
  };
}

/** Minutes to publish 10^9 keys with 200 workers, for the page times and queue kinds assumed. */
function billionKeyModel(cpuSecPerMillionKeys: number) {
  const publishPerWorker = Math.min(1_000_000 / cpuSecPerMillionKeys, (MODEL.sendCallsInFlight * 10) / MODEL.sendRoundTripSeconds);
  const minutes = (pageSeconds: number, queueLimit: number) => {
    const listPerWorker = 1_000 / pageSeconds;
    const fleetRate = Math.min(MODEL.workers * Math.min(listPerWorker, publishPerWorker), queueLimit);
    const ramp = MODEL.splitRounds * (pageSeconds + MODEL.probesPerSplit * MODEL.probeSeconds + MODEL.queueHopSeconds);
    return { keysPerSec: Math.round(fleetRate), minutes: Number(((ramp + MODEL.keys / fleetRate) / 60).toFixed(1)) };
  };
  return {
    keys: MODEL.keys,
    workerConcurrency: MODEL.workers,
    publishPerWorkerPerSec: Math.round(publishPerWorker),
    standardQueue: MODEL.pageSeconds.map((page) => ({ pageSeconds: page, ...minutes(page, Number.POSITIVE_INFINITY) })),
    fifoQueue: MODEL.pageSeconds.map((page) => ({ pageSeconds: page, ...minutes(page, MODEL.fifoMessagesPerSecond) })),
  };
}

/** The fleet's lines of the terminal table. */
export function fleetRows(fleet: FleetFigures | undefined): Array<[string, string | number]> {
  if (!fleet) return [];
  const model = fleet.model;
  const each = (cases: typeof model.standardQueue) => cases.map((one) => `${one.minutes} min at ${one.pageSeconds} s/page`).join(', ');
  return [
    ...fleet.runs.map((run): [string, string] => [
      `backfill fleet, ${run.workers} workers, +${fleet.latencyMs} ms`,
      `${run.keysPerSec} keys/s, ${run.seconds} s, ${run.cpuSecPerMillion} CPU-s per million, machine busy ${run.machineBusy ?? '?'}`,
    ]),
    [`backfill fleet speed-up, ${fleet.speedupWorkers} workers`, fleet.speedup ?? '-'],
    [`10^9 keys, ${model.workerConcurrency} workers, standard queue`, each(model.standardQueue)],
    [`10^9 keys, ${model.workerConcurrency} workers, FIFO queue`, each(model.fifoQueue)],
  ];
}
