// `npm run chaos`: the distributed run on the local emulator under injected faults and killed
// workers; prints whether every object still reached the queue. Exit 1 if any was lost.
import { commandLine } from '../lib/cli/command-line.ts';
import { oneOfOption, wholeNumberOption } from '../lib/cli/options.ts';
import { stderrLog } from '../lib/cli/stderr-log.ts';
import { runChaos } from '../lib/local/chaos.ts';
import { KEY_SHAPES } from '../lib/local/sample-objects.ts';

const { json, ...options } = commandLine(
  {
    command: 'npm run chaos --',
    summary:
      'Runs the distributed inventory run (or a backfill run) on the emulator under injected faults and killed workers; exits 1 if any object did not reach the queue.',
    options: {
      mode: {
        type: 'string',
        default: 'inventory',
        description: "inventory: a report's run; backfill: the bucket's key ranges listed by the workers",
      },
      objects: { type: 'string', default: '50000', description: 'objects in the report (or the bucket)' },
      files: { type: 'string', default: '8', description: 'inventory: data files of the report' },
      'key-shape': { type: 'string', default: 'hex', description: `backfill: how the objects are named: ${KEY_SHAPES.join(', ')}` },
      workers: { type: 'string', default: '4', description: 'worker processes at once' },
      kills: { type: 'string', default: '20', description: 'workers killed (SIGKILL) during the run' },
      'time-budget-ms': { type: 'string', default: '3000', description: 'each worker stops after this long and queues the rest' },
      seed: { type: 'string', default: '1', description: 'seed of the faults and kills' },
      'shard-rows': { type: 'string', description: 'split data files of more rows into shards of about this many' },
      json: { type: 'boolean', default: false, description: 'print the result as one JSON line' },
    },
  },
  (values) => ({
    json: values.json,
    mode: oneOfOption('mode', values.mode, ['inventory', 'backfill'] as const),
    keyShape: oneOfOption('key-shape', values['key-shape'], KEY_SHAPES),
    objects: wholeNumberOption('objects', values.objects, 1),
    files: wholeNumberOption('files', values.files, 1),
    workers: wholeNumberOption('workers', values.workers, 1),
    kills: wholeNumberOption('kills', values.kills, 0),
    timeBudgetMs: wholeNumberOption('time-budget-ms', values['time-budget-ms'], 1),
    seed: wholeNumberOption('seed', values.seed, 0),
    ...(values['shard-rows'] !== undefined && { shardRows: wholeNumberOption('shard-rows', values['shard-rows'], 1_000) }),
  }),
);

const result = await runChaos({ ...options, log: stderrLog(false) });
if (json) {
  console.log(JSON.stringify(result));
} else {
  const { faults } = result;
  console.log(
    `${result.objects} objects, ${result.kills} workers killed, faults: ${faults.entriesFailed} entries failed, ${faults.requestsFailed} calls failed, ` +
      `${faults.requestsHeld} calls held, ${faults.responsesCut} downloads cut, ${faults.responsesStalled} stalled.`,
  );
  console.log(
    `The queue holds ${result.queueDepth} messages for ${result.distinctKeys} distinct keys; lost ${result.lost}; ` +
      `${result.invocations} invocations, ${result.mode === 'backfill' ? `${result.ranges} ranges (${result.rangesWithKeys} with keys)` : `${result.shards} shards`}, ${result.continuations} continuations, ${(result.durationMs / 1000).toFixed(1)} s.`,
  );
}
process.exitCode = result.lost === 0 && result.distinctKeys === result.objects ? 0 : 1;
