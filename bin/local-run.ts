import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Console } from 'node:console';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { commandLine } from '../lib/cli/command-line.ts';
import { wholeNumberOption } from '../lib/cli/options.ts';
import { InvalidArgumentError } from '../lib/core/errors.ts';
import { INVENTORY_FORMATS } from '../lib/inventory/manifest.ts';
import { stderrLog } from '../lib/cli/stderr-log.ts';
import { runLocalDemo, type DemoMode } from '../lib/local/demo.ts';
import { sumEmfMetrics } from '../lib/local/emf.ts';

const DEMO_MODES: readonly DemoMode[] = ['inventory', 'backfill', 'changed'];
const options = commandLine(
  'npm start --',
  {
    objects: { type: 'string', default: '500' },
    files: { type: 'string', default: '4' },
    workers: { type: 'string', default: '4' },
    'time-budget-ms': { type: 'string' },
    'shard-rows': { type: 'string' },
    mode: { type: 'string', default: 'inventory' },
    format: { type: 'string', default: 'csv' },
    adopt: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    metrics: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    log: { type: 'string', default: join(tmpdir(), `s3-to-sqs-local-${process.pid}.log`) },
  },
  (values) => {
    if (!DEMO_MODES.includes(values.mode as DemoMode))
      throw new InvalidArgumentError(`--mode "${values.mode}" must be ${DEMO_MODES.join(', ')}`);
    const format = INVENTORY_FORMATS.find((name) => name.toLowerCase() === values.format.toLowerCase());
    if (!format) throw new InvalidArgumentError(`--format "${values.format}" must be csv, parquet or orc`);
    if (values.adopt && values.mode !== 'inventory')
      throw new InvalidArgumentError(`--adopt runs the inventory mode, not --mode ${values.mode}`);
    const budget = values['time-budget-ms'];
    const shardRows = values['shard-rows'];
    return {
      ...values,
      mode: values.mode as DemoMode,
      format,
      objects: wholeNumberOption('objects', values.objects, 0),
      files: wholeNumberOption('files', values.files, 1),
      workers: wholeNumberOption('workers', values.workers, 1),
      ...(budget !== undefined && { timeBudgetMs: wholeNumberOption('time-budget-ms', budget, 1) }),
      ...(shardRows !== undefined && { shardRows: wholeNumberOption('shard-rows', shardRows, 1_000) }),
    };
  },
);
const { json, verbose } = options;
const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

// The handlers' JSON logs and metric lines go to a file (and to stderr with --verbose), not among
// the lines that tell the story: in dev mode Powertools writes through the global console.
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
const logFile = createWriteStream(options.log);
const handlerOutput = new PassThrough();
handlerOutput.pipe(logFile);
if (verbose) handlerOutput.pipe(process.stderr);
globalThis.console = new Console({ stdout: handlerOutput, stderr: handlerOutput });

const [inventory, worker, deadLetter, backfill, stackSetup] = await Promise.all([
  import('../handlers/inventory.ts'),
  import('../handlers/worker.ts'),
  import('../handlers/dead-letter.ts'),
  import('../handlers/backfill.ts'),
  import('../handlers/stack-setup.ts'),
]);

const progress = process.stdout.isTTY && !json;
const result = await runLocalDemo({
  objects: options.objects,
  files: options.files,
  workers: options.workers,
  ...(options.timeBudgetMs !== undefined && { timeBudgetMs: options.timeBudgetMs }),
  ...(options.shardRows !== undefined && { shardRows: options.shardRows }),
  mode: options.mode,
  format: options.format,
  adopt: options.adopt,
  handlers: {
    stackSetup: (event) => stackSetup.handler(event),
    inventory: (event) => inventory.handler(event),
    worker: (event) => worker.handler(event),
    deadLetter: (event) => deadLetter.handler(event),
    backfill: (event) => backfill.handler(event),
  },
  log: stderrLog(false),
  onStep: (line) => {
    if (progress) process.stdout.write('\r\x1b[K');
    say(line);
  },
  ...(progress && { onProgress: (line: string) => process.stdout.write(`\r\x1b[K${line}`) }),
});
if (progress) process.stdout.write('\r\x1b[K');
await new Promise((resolve) => logFile.end(resolve));
const metrics = options.metrics ? sumEmfMetrics(await readFile(options.log, 'utf8')) : undefined;

if (json) {
  process.stdout.write(`${JSON.stringify({ ...result, ...(metrics && { metrics }) })}\n`);
} else {
  if (metrics)
    say(
      `Metrics the run emitted (s3-to-sqs): ${Object.entries(metrics)
        .map(([name, value]) => `${name} ${Math.round(value * 100) / 100}`)
        .join(', ')}.`,
    );
  say(`The handlers' JSON logs and metrics are in ${options.log}${verbose ? '' : ' (--verbose shows them)'}.`);
  if (result.days) {
    // Rewritten keys published again within five minutes are dropped by the FIFO queue's deduplication.
    say(
      `Day 1 published ${result.days[0]?.published}, day 2 published ${result.days[1]?.published} (only what changed); the queue holds ${result.queueDepth}.`,
    );
  }
  const shards = result.shards !== undefined && result.shards > (result.parts ?? 0) ? ` (${result.shards} shards)` : '';
  const parts = result.parts === undefined ? '' : ` by ${result.parts} parts${shards} with ${result.continuations} continuations`;
  say(
    `${result.published} messages were published in total${parts} in ${(result.durationMs / 1000).toFixed(2)} s ` +
      `(${result.messagesPerSecond} messages/s); the queue holds ${result.queueDepth}.`,
  );
}
