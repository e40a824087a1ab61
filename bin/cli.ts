import { Command, CommanderError, Option } from 'commander';
import { loadConfig, publishesChanges, type Environment } from '../lib/core/config.ts';
import { createAwsClientsFromEnvironment, createControlSqsClient } from '../lib/core/aws-clients.ts';
import { checkTargetQueue } from '../lib/publish/queue-check.ts';
import { wholeNumberOption } from '../lib/cli/options.ts';
import { parseBackfillEvent } from '../lib/backfill/event.ts';
import { runBackfillStatus } from '../lib/run/backfill-status.ts';
import type { BackfillStatus } from '../lib/run/types.ts';
import { backfillBucket } from '../lib/backfill/job.ts';
import {
  ConfigError,
  EXIT_BAD_INPUT,
  EXIT_RUN_FAILED,
  exitCodeOf,
  InvalidArgumentError,
  PipelineError,
  RunFailedError,
} from '../lib/core/errors.ts';
import { publishInventoryReport, type DataFileProgress, type InventoryContinuation } from '../lib/inventory/job.ts';
import { EXIT_INTERRUPTED, listenForInterrupts } from '../lib/cli/interrupt.ts';
import { showProgress } from '../lib/cli/progress.ts';
import { createPipelineContext, type PipelineContext } from '../lib/publish/pipeline.ts';
import { findBaseline } from '../lib/run/baseline.ts';
import { runStatus } from '../lib/run/report.ts';
import { type RunStateStore, runStateStoreFromEnvironment } from '../lib/run/state.ts';
import { RunStats, type StatsSummary } from '../lib/core/run-stats.ts';
import { seedBucket } from '../lib/local/sample-objects.ts';
import { formatS3Uri, parseS3Uri } from '../lib/core/s3-location.ts';
import { writeBucketReport } from '../lib/local/bucket-report.ts';
import { INVENTORY_FORMATS } from '../lib/inventory/manifest.ts';
import { plural } from '../lib/core/plural.ts';
import { stderrLog } from '../lib/cli/stderr-log.ts';
import { DryRun, type DryRunFigures } from '../lib/publish/dry-run.ts';
import { PRICES } from '../lib/core/prices.ts';

interface PublishOptions {
  json: boolean;
  verbose: boolean;
  concurrency?: string;
  keyPattern?: string;
  fifoMessageGroups?: string;
  maxAttempts?: string;
  messageFields?: string;
  messageFormat?: string;
  mode?: string;
  dryRun: boolean;
  storageClassInclude?: string;
  storageClassExclude?: string;
  minSize?: string;
  maxSize?: string;
  modifiedAfter?: string;
  modifiedBefore?: string;
  maxMessagesPerSecond?: string;
}

interface BackfillOptions {
  prefix?: string;
  modifiedSince?: string;
  continuation?: string;
  timeBudgetMs?: string;
}

// A stack trace only on request: every expected failure has a message of its own.
const VERBOSE = process.argv.includes('--verbose');

const STATE_OPTION =
  "a report in an adopted bucket: where the stack keeps its runs' state, s3://<stack bucket>/<prefix>/ (the stack's RunStateLocation output; default: RUN_STATE_BUCKET and RUN_STATE_PREFIX)";

/** The run-state store of `--state`, else of the environment. */
function stateStoreOption(uri: string | undefined): RunStateStore | undefined {
  if (uri === undefined) return runStateStoreFromEnvironment(process.env);
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match?.[1]) throw new InvalidArgumentError(`--state "${uri}" is not an S3 location: expected s3://<bucket>/<prefix>/`);
  return runStateStoreFromEnvironment({ RUN_STATE_BUCKET: match[1], RUN_STATE_PREFIX: match[2] });
}

const program = new Command('s3-to-sqs')
  .description('Publish one SQS message {"bucket","key"} per object of an S3 bucket.')
  .showHelpAfterError()
  // Usage errors throw instead of exiting with commander's code 1: they exit with 2 below.
  .exitOverride();

withPublishOptions(
  program
    .command('inventory')
    .description('publish every current object listed by an S3 Inventory report (CSV, Parquet or ORC)')
    .argument('<manifest>', "the report's manifest: s3://<bucket>/<prefix>/<source>/<config>/<time>/manifest.json")
    .argument('<queue-url>', 'target SQS queue URL (FIFO when it ends in .fifo)')
    .option('--continuation <json>', 'resume a stopped run: the "continuation" its summary printed')
    .option('--state <s3-uri>', STATE_OPTION),
).action((manifest: string, queueUrl: string, options: PublishOptions & { continuation?: string; state?: string }) => {
  const continuation =
    options.continuation === undefined ? undefined : (parseJsonOption('--continuation', options.continuation) as InventoryContinuation);
  const location = parseS3Uri(manifest);
  return runPublish(queueUrl, options, async (context, stats, signal) => {
    // `changed`: the difference from the last complete run of the same inventory configuration.
    const baseline = publishesChanges(context.config.publishMode)
      ? await findBaseline(context.s3, location, context.config.changedMarginHours, stateStoreOption(options.state))
      : undefined;
    const changedSince = baseline && new Date(baseline.changedSince);
    const summary = await publishInventoryReport(location, context, stats, {
      signal,
      ...(continuation && { continuation }),
      ...(changedSince && { changedSince }),
    });
    return publishesChanges(context.config.publishMode) ? { ...summary, baseline: baseline ?? 'none' } : summary;
  });
});

withPublishOptions(
  program
    .command('backfill')
    .description('publish every object of a bucket, listed with ListObjectsV2 in parallel key ranges')
    .argument('<bucket>', 'source bucket')
    .argument('<queue-url>', 'target SQS queue URL (FIFO when it ends in .fifo)')
    .option('--prefix <prefix>', 'only keys under this prefix')
    .option('--continuation <json>', 'resume a stopped run: the "continuation" its summary printed')
    .option('--time-budget-ms <ms>', 'stop cleanly after this long and print a continuation')
    .option('--modified-since <time>', 'only objects modified at or after this ISO 8601 time'),
).action((bucket: string, queueUrl: string, options: PublishOptions & BackfillOptions) => {
  const request = parseBackfillEvent(
    {
      bucket,
      ...(options.prefix !== undefined && { prefix: options.prefix }),
      ...(options.continuation !== undefined && { continuation: parseJsonOption('--continuation', options.continuation) }),
      ...(options.timeBudgetMs !== undefined && { timeBudgetMs: Number(options.timeBudgetMs) }),
      ...(options.modifiedSince !== undefined && { modifiedSince: options.modifiedSince }),
    },
    undefined,
  );
  // Ctrl-C stops like the time budget does: in-flight batches settle and a continuation is printed.
  return runPublish(queueUrl, options, (context, stats, interrupt) => {
    const signal = request.timeBudgetMs === undefined ? interrupt : AbortSignal.any([interrupt, AbortSignal.timeout(request.timeBudgetMs)]);
    return backfillBucket(request, context, stats, signal);
  });
});

program
  .command('status')
  .description('how far the run of an inventory report, or a backfill run, has come (Lambda path: fan-out and workers)')
  .argument(
    '<run>',
    "s3://<bucket>/…/manifest.json, or a backfill run's state location s3://…/s3-to-sqs/ (the backfill function returns it)",
  )
  .option('--state <s3-uri>', STATE_OPTION)
  .option('--json', 'print the status as one JSON line', false)
  .option('--verbose', 'with an error, print its stack trace', false)
  .action(async (manifest: string, options: { json: boolean; state?: string }) => {
    const { s3 } = createAwsClientsFromEnvironment(8);
    if (manifest.endsWith('/')) {
      const { bucket, key } = parseS3Uri(manifest);
      const backfill = await runBackfillStatus(s3, { bucket, prefix: key });
      console.log(options.json ? JSON.stringify(backfill) : backfillStatusLines(backfill).join('\n'));
      return;
    }
    const status = await runStatus(s3, parseS3Uri(manifest), stateStoreOption(options.state));
    if (options.json) {
      console.log(JSON.stringify(status));
      return;
    }
    console.log(`${status.manifest}${status.sourceBucket ? ` (s3://${status.sourceBucket})` : ''}: ${status.state}`);
    if (status.state === 'not started') {
      console.log(
        `No run state at ${status.stateLocation}: the stack's runs keep theirs there (a report in an adopted bucket: pass --state <RunStateLocation>); ` +
          '`npm run cli -- inventory` keeps none, its summary is all it leaves.',
      );
    }
    if (status.parts === undefined || !status.totals) return;
    const { totals } = status;
    console.log(
      `Parts finished ${status.partsFinished} of ${status.parts}, shards ${status.shardsFinished} of ${status.shards}; published ${totals.published}, skipped ${totals.skipped}, ` +
        `failed ${totals.failed}, continuations ${totals.continuations}.`,
    );
    for (const part of status.running ?? []) {
      const shard = part.shard === undefined ? '' : ` shard ${part.shard}`;
      console.log(
        `  part ${part.part}${shard}: ${part.rowsDone} rows done, checkpoint ${part.updatedAt}${part.lastError ? `, last error: ${part.lastError}` : ''}`,
      );
    }
    for (const part of status.report?.partResults.filter((result) => result.status === 'failed') ?? []) {
      console.log(`  part ${part.part} failed: ${part.error}`);
    }
  });

/** A backfill run's status for a terminal: its ranges, keys and rate, and its failed ranges. */
function backfillStatusLines(status: BackfillStatus): string[] {
  const { ranges, totals } = status;
  const lines = [
    `backfill ${status.runId} of s3://${status.bucket}/${status.prefix}: ${status.state}${status.report?.dryRun ? ' (dry run)' : ''}`,
    `Ranges done ${ranges.done}, in flight ${ranges.inFlight}, queued ${ranges.queued}${status.report ? ` (${status.report.rangesWithKeys} held keys)` : ''}; ` +
      `published ${totals.published}, skipped ${totals.skipped}, failed ${totals.failed}, continuations ${totals.continuations}; ${status.messagesPerSecond} messages/s.`,
  ];
  for (const failed of status.report?.failedRanges ?? []) lines.push(`  range ${failed.id} failed: ${failed.error}`);
  return lines;
}

program
  .command('seed')
  .description("write sample objects named <sha256>.<ext> to a bucket (like the original Terraform's object_count)")
  .argument('<bucket>', 'an existing bucket')
  .option('--count <n>', 'objects to write', '500')
  .option('--start <n>', 'index of the first sample, to add more objects later', '0')
  .option('--concurrency <n>', 'PutObject calls in flight', '32')
  .option(
    '--report <s3-uri>',
    'then write the inventory report S3 would deliver of the whole bucket to s3://<inventory bucket>/<prefix> (an emulator has no S3 Inventory)',
  )
  .option('--format <format>', 'the report: csv, parquet or orc', 'csv')
  .action(async (bucket: string, options: SeedOptions) => {
    const count = wholeNumberOption('count', options.count, 0);
    const concurrency = wholeNumberOption('concurrency', options.concurrency, 1);
    const destination = options.report === undefined ? undefined : reportDestination(options.report);
    const format = INVENTORY_FORMATS.find((name) => name.toLowerCase() === options.format.toLowerCase());
    if (!format) throw new InvalidArgumentError(`--format "${options.format}" must be csv, parquet or orc`);
    const { s3 } = createAwsClientsFromEnvironment(concurrency);
    const started = Date.now();
    try {
      await seedBucket(s3, bucket, { count, firstIndex: wholeNumberOption('start', options.start, 0), concurrency });
    } catch (error) {
      const { name, message } = error as Error;
      throw new InvalidArgumentError(`writing to bucket "${bucket}" failed: ${name}: ${message}`);
    }
    console.log(`${count} objects were written to s3://${bucket} in ${((Date.now() - started) / 1000).toFixed(2)} s.`);
    if (!destination) return;
    const report = await writeBucketReport(s3, bucket, destination, format).catch((error: Error) => {
      throw new InvalidArgumentError(
        `writing the report to s3://${destination.bucket}/${destination.prefix} failed: ${error.name}: ${error.message}`,
      );
    });
    const manifest = formatS3Uri(report.manifest);
    console.log(
      `The report lists ${report.rows} objects in ${report.files.length} data ${plural(report.files.length, 'file')}: ${manifest}`,
    );
    console.log(`Publish it: npm run cli -- inventory ${manifest} <queue-url>`);
  });

interface SeedOptions {
  count: string;
  start: string;
  concurrency: string;
  report?: string;
  format: string;
}

/** `--report s3://<bucket>/<prefix>`: where seed writes its report; the prefix defaults to `inventory`. */
function reportDestination(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match?.[1]) throw new InvalidArgumentError(`--report "${uri}" is not an S3 location: expected s3://<inventory bucket>/<prefix>`);
  return { bucket: match[1], prefix: (match[2] ?? '').replace(/\/+$/, '') || 'inventory' };
}

function withPublishOptions(command: Command): Command {
  return command
    .option('--json', 'print the summary as one JSON line, last', false)
    .option('--verbose', 'log progress details to stderr', false)
    .addOption(new Option('--concurrency <n>', 'SendMessageBatch calls in flight').env('CONCURRENCY'))
    .addOption(new Option('--key-pattern <regex>', 'publish only keys that match').env('KEY_PATTERN'))
    .addOption(new Option('--fifo-message-groups <n>', 'FIFO: message groups to spread keys over').env('FIFO_MESSAGE_GROUPS'))
    .addOption(new Option('--max-attempts <n>', 'attempts per message before it counts as failed').env('PUBLISH_MAX_ATTEMPTS'))
    .addOption(
      new Option('--message-fields <list>', 'optional fields of each message: size,etag,lastModified,versionId,storageClass').env(
        'MESSAGE_FIELDS',
      ),
    )
    .addOption(
      new Option('--message-format <format>', 'plain {"bucket","key",…}, or s3-event (an S3 event notification)').env('MESSAGE_FORMAT'),
    )
    .addOption(new Option('--mode <mode>', 'inventory: all, or changed (modified since the last complete run)').env('PUBLISH_MODE'))
    .option('--dry-run', 'read, check and select as a real run, publish nothing: say what it would send and cost', false)
    .addOption(new Option('--storage-class-include <list>', 'publish only objects of these storage classes').env('STORAGE_CLASS_INCLUDE'))
    .addOption(new Option('--storage-class-exclude <list>', 'never publish objects of these storage classes').env('STORAGE_CLASS_EXCLUDE'))
    .addOption(new Option('--min-size <bytes>', 'publish only objects of at least this size').env('MIN_SIZE'))
    .addOption(new Option('--max-size <bytes>', 'publish only objects of at most this size').env('MAX_SIZE'))
    .addOption(
      new Option('--modified-after <time>', 'publish only objects last modified at or after this ISO 8601 time').env('MODIFIED_AFTER'),
    )
    .addOption(
      new Option('--modified-before <time>', 'publish only objects last modified before this ISO 8601 time').env('MODIFIED_BEFORE'),
    )
    .addOption(
      new Option('--max-messages-per-second <n>', "the consumers' limit: at most this many messages a second").env(
        'MAX_MESSAGES_PER_SECOND',
      ),
    );
}

type JobSummary = StatsSummary & { done?: boolean };

/**
 * Runs one publishing job with a progress display. The exit code is 0 only if every key was
 * published; 1 if the run failed; 130 if Ctrl-C stopped it first. The first Ctrl-C lets the
 * batches in flight settle, so the summary's counts are what reached the queue; a second one
 * prints at once what is known, with the messages whose fate is unknown as `inFlight`.
 */
async function runPublish<Summary extends JobSummary>(
  queueUrl: string,
  options: PublishOptions,
  job: (context: PipelineContext, stats: RunStats, interrupt: AbortSignal) => Promise<Summary>,
): Promise<void> {
  const overrides: Environment = {
    QUEUE_URL: queueUrl,
    CONCURRENCY: options.concurrency,
    KEY_PATTERN: options.keyPattern,
    FIFO_MESSAGE_GROUPS: options.fifoMessageGroups,
    PUBLISH_MAX_ATTEMPTS: options.maxAttempts,
    MESSAGE_FIELDS: options.messageFields,
    MESSAGE_FORMAT: options.messageFormat,
    PUBLISH_MODE: options.mode,
    STORAGE_CLASS_INCLUDE: options.storageClassInclude,
    STORAGE_CLASS_EXCLUDE: options.storageClassExclude,
    MIN_SIZE: options.minSize,
    MAX_SIZE: options.maxSize,
    MODIFIED_AFTER: options.modifiedAfter,
    MODIFIED_BEFORE: options.modifiedBefore,
    MAX_MESSAGES_PER_SECOND: options.maxMessagesPerSecond,
  };
  const config = loadConfig({ ...process.env, ...overrides });
  const checked = createPipelineContext(config, stderrLog(options.verbose));
  const dryRun = options.dryRun ? new DryRun(checked.s3) : undefined;
  // The region the SDK resolved (from the environment or the profile) is the one S3 events name.
  const region = await checkBeforeReading(checked, dryRun === undefined);
  const context = { ...checked, config: { ...config, region }, ...(dryRun && { sender: dryRun.sender }) };
  const stats = new RunStats();
  const interrupts = listenForInterrupts();
  const hideProgress = showProgress(stats);
  let summary: PrintedSummary;
  let exitCode = 0;
  let forced = false;
  try {
    const outcome = await Promise.race([job(context, stats, interrupts.signal), interrupts.forced.then(() => undefined)]);
    if (outcome === undefined) {
      forced = true;
      exitCode = EXIT_INTERRUPTED;
      const error = `stopped at once by a second Ctrl-C: ${stats.pending} messages were in flight, and may or may not have reached the queue`;
      summary = { ...stats.toJSON(), done: false, inFlight: stats.pending, error };
    } else {
      summary = outcome;
      if (interrupts.interrupted && outcome.done === false) exitCode = EXIT_INTERRUPTED;
    }
  } catch (error) {
    if (!(error instanceof RunFailedError)) throw error;
    exitCode = interrupts.interrupted ? EXIT_INTERRUPTED : EXIT_RUN_FAILED;
    summary = { ...(error.summary as Summary), error: error.message };
  } finally {
    hideProgress();
    interrupts.dispose();
  }
  printSummary(dryRun ? dryRun.summary(summary, queueUrl) : summary, options.json);
  // Calls still in flight would keep the process alive: a forced stop ends it here.
  if (forced) process.exit(exitCode);
  process.exitCode = exitCode;
}

/**
 * What would fail every call is said once, before anything is read: no region, a queue SQS refuses
 * (not asked in a dry run, which makes no SQS call). Returns the region.
 */
async function checkBeforeReading(context: PipelineContext, checkQueue: boolean): Promise<string> {
  let region: string;
  try {
    region = await context.s3.config.region();
  } catch (error) {
    throw new ConfigError(`no AWS region: set AWS_REGION, or a region in the AWS profile (${(error as Error).message})`);
  }
  if (!checkQueue) return region;
  const sqs = createControlSqsClient(process.env, 3, context.config.queueUrl);
  try {
    await checkTargetQueue(sqs, context.config.queueUrl);
  } finally {
    sqs.destroy();
  }
  return region;
}

function parseJsonOption(option: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`${option} is not valid JSON: ${(error as Error).message}`);
  }
}

interface PrintedSummary extends JobSummary, Partial<DryRunFigures> {
  error?: string;
  ranges?: number;
  rangesWithKeys?: number;
  continuation?: unknown;
  inFlight?: number;
  files?: DataFileProgress[];
}

function printSummary(summary: PrintedSummary, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(summary));
    return;
  }
  if (summary.dryRun) printDryRun(summary);
  const seconds = summary.durationMs / 1000;
  const reasons = Object.entries(summary.skippedByReason)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`);
  console.log(
    `${summary.published} messages were published in ${seconds.toFixed(2)} s ` +
      `(${Math.round(summary.published / Math.max(seconds, 0.001))} messages/s).`,
  );
  console.log(
    `Rows read ${summary.rowsRead}; skipped ${summary.skipped}${reasons.length ? ` (${reasons.join(', ')})` : ''}; ` +
      `failed ${summary.failed}; re-sent ${summary.retries}.`,
  );
  if (summary.ranges !== undefined) console.log(`Key ranges listed ${summary.ranges}, ${summary.rangesWithKeys ?? 0} of them with keys.`);
  if (summary.done === false) {
    for (const file of summary.files ?? []) {
      console.log(`Data file ${file.file} (${file.key}): ${file.done ? 'done' : `${file.rowsDone} rows done`}.`);
    }
  }
  if (summary.continuation) {
    console.log(`Not finished. To continue: --continuation '${JSON.stringify(summary.continuation)}'`);
  }
  if (summary.error) console.error(`error: ${summary.error}`);
}

function printDryRun({
  wouldPublish,
  sendMessageBatchCalls,
  sqsRequests,
  s3Requests,
  lambdaSeconds,
  estimatedCostUsd: cost,
}: Partial<DryRunFigures>): void {
  console.log(
    `Dry run: nothing was published. A real run would publish ${wouldPublish} messages in ${sendMessageBatchCalls} SendMessageBatch ${plural(sendMessageBatchCalls ?? 0, 'call')} ` +
      `(${sqsRequests} billed SQS requests), after ${s3Requests?.get} S3 GET and ${s3Requests?.list} LIST requests and ${lambdaSeconds} s of one vCPU.`,
  );
  console.log(
    `Estimated cost in ${PRICES.region} (prices of ${cost?.pricesAsOf}): $${cost?.total} (SQS $${cost?.sqs}, S3 $${cost?.s3}, Lambda $${cost?.lambda}).`,
  );
}

try {
  await program.parseAsync();
} catch (error) {
  process.exitCode = exitCodeAfter(error);
}

/** 2 for bad arguments, 1 for a failed run, as each error's class says; the message, never a bare stack. */
function exitCodeAfter(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander printed the message (or the help) already.
    return ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code) ? 0 : EXIT_BAD_INPUT;
  }
  const { name, message, stack } = error instanceof Error ? error : new Error(String(error));
  console.error(error instanceof PipelineError ? `error: ${message}` : `error: ${name}: ${message}`);
  if (VERBOSE && stack) console.error(stack);
  return exitCodeOf(error);
}
