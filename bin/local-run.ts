import { createWriteStream, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Console } from 'node:console';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { commandLine } from '../lib/cli/command-line.ts';
import { plural } from '../lib/core/plural.ts';
import { oneOfOption, wholeNumberOption } from '../lib/cli/options.ts';
import { EXIT_BAD_INPUT, InvalidArgumentError } from '../lib/core/errors.ts';
import { INVENTORY_FORMATS } from '../lib/inventory/manifest.ts';
import { stderrLog } from '../lib/cli/stderr-log.ts';
import { runLocalDemo, type DemoMode } from '../lib/local/demo.ts';
import { KEY_SHAPES } from '../lib/local/sample-objects.ts';
import { loadSelection, MESSAGE_FORMATS, type MessageFormat } from '../lib/core/config.ts';
import { sumEmfMetrics } from '../lib/local/emf.ts';

const DEMO_MODES: readonly DemoMode[] = ['inventory', 'backfill', 'changed'];
const options = commandLine(
  {
    command: 'npm start --',
    summary:
      'Runs the main job on an embedded S3 + SQS emulator: writes a source bucket and its inventory report, then runs the Lambda handlers as AWS would until the run ends.',
    options: {
      objects: { type: 'string', default: '500', description: 'objects in the source bucket' },
      files: { type: 'string', default: '4', description: 'data files of the report' },
      workers: { type: 'string', default: '4', description: 'worker invocations at once' },
      'time-budget-ms': { type: 'string', description: 'each worker stops after this long and queues the rest' },
      'shard-rows': { type: 'string', description: 'split data files of more rows into shards of about this many' },
      mode: { type: 'string', default: 'inventory', description: `${DEMO_MODES.join(', ')}` },
      format: { type: 'string', default: 'csv', description: "the report's format: csv, parquet or orc" },
      adopt: { type: 'boolean', default: false, description: "another team's inventory bucket, adopted through EventBridge" },
      live: {
        type: 'boolean',
        default: false,
        description: 'live publishing: objects written with their events, then the next report in missed mode',
      },
      'drop-events': { type: 'string', default: '25', description: '--live: events dropped on purpose, for the next report to publish' },
      'live-window-ms': { type: 'string', default: '1000', description: "--live: the live function's batching window" },
      'key-shape': { type: 'string', default: 'hex', description: `how the objects are named: ${KEY_SHAPES.join(', ')}` },
      'message-format': { type: 'string', default: 'plain', description: 'plain {"bucket","key"}, or s3-event (an S3 event notification)' },
      'storage-class-include': { type: 'string', description: 'publish only objects of these storage classes (comma-separated)' },
      'storage-class-exclude': { type: 'string', description: 'never publish objects of these storage classes (comma-separated)' },
      'min-size': { type: 'string', description: 'publish only objects of at least this many bytes' },
      'max-size': { type: 'string', description: 'publish only objects of at most this many bytes' },
      'modified-after': { type: 'string', description: 'publish only objects last modified at or after this ISO 8601 time' },
      'modified-before': { type: 'string', description: 'publish only objects last modified before this ISO 8601 time' },
      'max-messages-per-second': {
        type: 'string',
        description: "the consumers' limit, shared by the run's workers (the JSON gets rateCap, maxWindowRate, meanRate)",
      },
      'dry-run': { type: 'boolean', default: false, description: 'read and select as a real run, send nothing, say what would be sent' },
      json: { type: 'boolean', default: false, description: 'print one JSON line with the results' },
      metrics: { type: 'boolean', default: false, description: 'show the metrics the handlers emitted' },
      verbose: { type: 'boolean', default: false, description: "the handlers' JSON logs on stderr" },
      log: { type: 'string', description: "file for the handlers' JSON logs (default: a file in the temporary folder)" },
    },
  },
  (values) => {
    if (!DEMO_MODES.includes(values.mode as DemoMode))
      throw new InvalidArgumentError(`--mode "${values.mode}" must be ${DEMO_MODES.join(', ')}`);
    const format = INVENTORY_FORMATS.find((name) => name.toLowerCase() === values.format.toLowerCase());
    if (!format) throw new InvalidArgumentError(`--format "${values.format}" must be csv, parquet or orc`);
    if (values.adopt && values.mode !== 'inventory')
      throw new InvalidArgumentError(`--adopt runs the inventory mode, not --mode ${values.mode}`);
    if (values.live && (values.adopt || values.mode !== 'inventory' || values['dry-run']))
      throw new InvalidArgumentError('--live runs on its own: not with --adopt, --mode or --dry-run');
    if (values['dry-run'] && values.adopt)
      throw new InvalidArgumentError('--dry-run runs the inventory, backfill or changed mode, not --adopt');
    if (!MESSAGE_FORMATS.includes(values['message-format'] as MessageFormat))
      throw new InvalidArgumentError(`--message-format "${values['message-format']}" must be ${MESSAGE_FORMATS.join(' or ')}`);
    const handlerSettings = {
      MESSAGE_FORMAT: values['message-format'],
      STORAGE_CLASS_INCLUDE: values['storage-class-include'],
      STORAGE_CLASS_EXCLUDE: values['storage-class-exclude'],
      MIN_SIZE: values['min-size'],
      MAX_SIZE: values['max-size'],
      MODIFIED_AFTER: values['modified-after'],
      MODIFIED_BEFORE: values['modified-before'],
      MAX_MESSAGES_PER_SECOND: values['max-messages-per-second'],
      DRY_RUN: values['dry-run'] ? 'true' : undefined,
    };
    // Checked here, so that a bad value ends the command with its name rather than fail a handler.
    loadSelection(handlerSettings);
    const cap = values['max-messages-per-second'];
    const keyShape = oneOfOption('key-shape', values['key-shape'], KEY_SHAPES);
    const budget = values['time-budget-ms'];
    const shardRows = values['shard-rows'];
    return {
      ...values,
      mode: values.mode as DemoMode,
      format,
      keyShape,
      handlerSettings,
      ...(cap !== undefined && { maxMessagesPerSecond: wholeNumberOption('max-messages-per-second', cap, 1) }),
      objects: wholeNumberOption('objects', values.objects, 0),
      files: wholeNumberOption('files', values.files, 1),
      workers: wholeNumberOption('workers', values.workers, 1),
      ...(budget !== undefined && { timeBudgetMs: wholeNumberOption('time-budget-ms', budget, 1) }),
      ...(shardRows !== undefined && { shardRows: wholeNumberOption('shard-rows', shardRows, 1_000) }),
      ...(values.live && {
        liveSettings: {
          dropEvents: wholeNumberOption('drop-events', values['drop-events'], 0),
          windowMs: wholeNumberOption('live-window-ms', values['live-window-ms'], 1),
        },
      }),
    };
  },
);
const { json, verbose } = options;
const logPath = options.log ?? join(tmpdir(), `s3-to-sqs-local-${process.pid}.log`);

/** The handlers' log file, opened before anything runs: a path that cannot be written ends the command with one line. */
function openLog(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    process.stderr.write(`error: --log "${path}" cannot be written: ${code ?? message}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
}
const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

// The handlers' JSON logs and metric lines go to a file (and to stderr with --verbose), not among
// the lines that tell the story: in dev mode Powertools writes through the global console.
for (const [name, value] of Object.entries(options.handlerSettings)) if (value !== undefined) process.env[name] = value;
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
const logFile = createWriteStream('', { fd: openLog(logPath) });
const handlerOutput = new PassThrough();
handlerOutput.pipe(logFile);
if (verbose) handlerOutput.pipe(process.stderr);
globalThis.console = new Console({ stdout: handlerOutput, stderr: handlerOutput });

const [inventory, worker, deadLetter, backfill, stackSetup, live] = await Promise.all([
  import('../handlers/inventory.ts'),
  import('../handlers/worker.ts'),
  import('../handlers/dead-letter.ts'),
  import('../handlers/backfill.ts'),
  import('../handlers/stack-setup.ts'),
  import('../handlers/live.ts'),
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
  keyShape: options.keyShape,
  dryRun: options['dry-run'],
  ...(options.liveSettings && { live: options.liveSettings }),
  ...(options.maxMessagesPerSecond !== undefined && { maxMessagesPerSecond: options.maxMessagesPerSecond }),
  handlers: {
    stackSetup: (event) => stackSetup.handler(event),
    inventory: (event) => inventory.handler(event),
    worker: (event) => worker.handler(event),
    deadLetter: (event) => deadLetter.handler(event),
    backfill: (event) => backfill.handler(event),
    live: (event) => live.handler(event),
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
const metrics = options.metrics ? sumEmfMetrics(await readFile(logPath, 'utf8')) : undefined;

if (json) {
  process.stdout.write(`${JSON.stringify({ ...result, ...(metrics && { metrics }) })}\n`);
} else {
  if (metrics)
    say(
      `Metrics the run emitted (s3-to-sqs): ${Object.entries(metrics)
        .map(([name, value]) => `${name} ${Math.round(value * 100) / 100}`)
        .join(', ')}.`,
    );
  say(`The handlers' JSON logs and metrics are in ${logPath}${verbose ? '' : ' (--verbose shows them)'}.`);
  if (result.days) {
    const [first = 0, second = 0] = result.days.map((day) => day.published);
    // The two days run minutes apart here: the FIFO queue drops the rewritten keys sent again within its deduplication window.
    const dropped = first + second - result.queueDepth;
    const why =
      dropped > 0
        ? `: its deduplication dropped the ${dropped} rewritten ${plural(dropped, 'key')} sent again within five minutes (a day apart on AWS, they arrive again)`
        : '';
    say(`Day 1 published ${first}, day 2 published ${second} (only what changed); the FIFO queue holds ${result.queueDepth}${why}.`);
  }
  const shards = result.shards !== undefined && result.shards > (result.parts ?? 0) ? ` (${result.shards} shards)` : '';
  const parts =
    result.parts === undefined
      ? ''
      : ` by ${result.parts} ${plural(result.parts, 'part')}${shards} with ${result.continuations} ${plural(result.continuations ?? 0, 'continuation')}`;
  if (result.livePublished !== undefined) {
    say(
      `Live: ${result.livePublished} published, ${result.liveLagMsP50} ms from write to send (p50), ${result.liveLagMsP99} ms (p99); ` +
        `the next report published the ${result.reportPublished} whose events were dropped (${result.dropped}); the queue holds ${result.queueDepth}, ${result.duplicates} duplicates.`,
    );
  } else if (result.dryRun) {
    const { wouldPublish = 0, sendMessageBatchCalls = 0, sqsRequests = 0, estimatedCostUsd } = result;
    say(
      `Dry run: nothing was sent; a real run would publish ${wouldPublish} messages${parts} in ${sendMessageBatchCalls} SendMessageBatch ${plural(sendMessageBatchCalls, 'call')} (${sqsRequests} billed ${plural(sqsRequests, 'request')}), about $${estimatedCostUsd?.total} in us-east-1; the queue holds ${result.queueDepth}.`,
    );
  } else
    say(
      `${result.published} messages were published in total${parts} in ${(result.durationMs / 1000).toFixed(2)} s ` +
        `(${result.messagesPerSecond} messages/s); the queue holds ${result.queueDepth}.`,
    );
}
