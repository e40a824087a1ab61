import { ConfigError } from './errors.ts';
import { MESSAGE_FIELDS, type MessageField } from './types.ts';

/** Settings shared by every key source; read once at start and validated. */
export interface PipelineConfig {
  /** Target queue. FIFO when the URL ends in `.fifo`. */
  queueUrl: string;
  /** Keys that do not match are skipped and counted. */
  keyPattern?: RegExp;
  /** SendMessageBatch calls in flight at once. */
  concurrency: number;
  /** FIFO only: keys are spread over this many message groups; 1 keeps them in one group. */
  fifoMessageGroups: number;
  /** Attempts per message before it counts as failed (the first send included). */
  maxAttempts: number;
  /** Custom endpoint from `AWS_ENDPOINT_URL` (an emulator): S3 then uses path-style URLs. */
  endpointUrl?: string;
  /** Deadline of every AWS call, and the longest silence a download may have before it is resumed. */
  requestTimeoutMs: number;
  /** How SendMessageBatch is called: `lean` (JSON protocol, about a fifth of the SDK's CPU) or the stock `sdk`. */
  sqsClient: SqsClientKind;
  /** Optional fields of every message, after `bucket` and `key` (`plain` format). */
  messageFields: MessageField[];
  /** What every source reads of each object: the message's fields, and what `s3-event` and the filters need. */
  readFields: MessageField[];
  /** Objects outside these bounds are skipped, counted by the filter that refused them. */
  filter: ObjectFilter;
  /** `plain`: `{"bucket","key",…fields}`; `s3-event`: an S3 event notification of the object. */
  messageFormat: MessageFormat;
  /** The region named in `s3-event` messages: the bucket's, which the functions and the CLI run in. */
  region?: string;
  /** The consumers' limit: messages per second for a whole run, across its workers. */
  maxMessagesPerSecond?: number;
  /** `DRY_RUN=true`: read and select as a real run, send nothing, count what would be sent. */
  dryRun: boolean;
  /** `all`: every current object; `changed`: those modified since the last complete run. */
  publishMode: PublishMode;
  /** `changed` mode: how far before the last complete run's scan to look, for inventory's lag. */
  changedMarginHours: number;
}

/** `changed`: what changed since the last complete run; `missed`: that, less what the live path published. */
export type PublishMode = 'all' | 'changed' | 'missed';

/** The modes that publish the difference from the last complete run. */
export const publishesChanges = (mode: PublishMode | undefined): boolean => mode === 'changed' || mode === 'missed';
export type MessageFormat = 'plain' | 's3-event';
export const MESSAGE_FORMATS: readonly MessageFormat[] = ['plain', 's3-event'];
/** What an S3 event notification tells of an object, beyond its bucket and key: read from every source with `s3-event`. */
export const S3_EVENT_FIELDS: readonly MessageField[] = ['size', 'etag', 'lastModified'];
export type SqsClientKind = 'lean' | 'sdk';

export type Environment = Record<string, string | undefined>;

/** Every setting's default: the configuration table in the README lists the same. */
export const DEFAULTS = {
  concurrency: 64,
  fifoMessageGroups: 1024,
  maxAttempts: 8,
  requestTimeoutMs: 30_000,
  sqsClient: 'lean',
  publishMode: 'all',
  messageFormat: 'plain',
  changedMarginHours: 24,
  checkpointIntervalMs: 5_000,
  leaseMs: 60_000,
  /** About 8 minutes of one worker's publishing; see docs/performance.md, "Shards", for the arithmetic. */
  shardRows: 20_000_000,
  workerConcurrency: 10,
} as const;

/**
 * The range of each whole-number variable, inclusive. The stack's parameters that set them are
 * bounded within these in the template, so that CloudFormation refuses a bad value before it
 * creates anything (test/stack/template.test.ts checks every one).
 */
export const LIMITS = {
  CONCURRENCY: [1, 512],
  FIFO_MESSAGE_GROUPS: [1, 1_000_000],
  PUBLISH_MAX_ATTEMPTS: [1, 50],
  REQUEST_TIMEOUT_MS: [100, 900_000],
  CHANGED_MARGIN_HOURS: [0, 24 * 30],
  TIME_BUDGET_MS: [1, 900_000],
  CHECKPOINT_INTERVAL_MS: [10, 600_000],
  PART_LEASE_MS: [10, 3_600_000],
  SHARD_ROWS: [1_000, 1_000_000_000],
  // 0: no cap.
  MAX_MESSAGES_PER_SECOND: [0, 1_000_000],
  // What an SQS event source's maximum concurrency takes.
  WORKER_CONCURRENCY: [2, 1_000],
  // Keys a missed run's compacted live record may hold: 8 bytes each, 32 MB a worker reads.
  LIVE_RECORD_BOUND: [1, 4_000_000],
} as const satisfies Record<string, readonly [number, number]>;

/** Reads and validates the pipeline settings; throws a ConfigError naming the variable. */
export function loadConfig(env: Environment): PipelineConfig {
  const keyPattern = optionalPattern(env, 'KEY_PATTERN');
  const endpointUrl = optionalUrl(env, 'AWS_ENDPOINT_URL');
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  const cap = env.MAX_MESSAGES_PER_SECOND?.trim() ? integer(env, 'MAX_MESSAGES_PER_SECOND', 0) : undefined;
  return {
    ...(region && { region }),
    ...(cap && { maxMessagesPerSecond: cap }),
    queueUrl: requiredQueueUrl(env),
    ...(keyPattern && { keyPattern }),
    concurrency: integer(env, 'CONCURRENCY', DEFAULTS.concurrency),
    fifoMessageGroups: integer(env, 'FIFO_MESSAGE_GROUPS', DEFAULTS.fifoMessageGroups),
    maxAttempts: integer(env, 'PUBLISH_MAX_ATTEMPTS', DEFAULTS.maxAttempts),
    ...(endpointUrl && { endpointUrl }),
    requestTimeoutMs: loadRequestTimeoutMs(env),
    sqsClient: oneOf(env, 'SQS_CLIENT', ['lean', 'sdk'] as const, DEFAULTS.sqsClient),
    ...loadSelection(env),
  };
}

/** What is published and what a message holds: also read by the fan-out, which has no queue. */
export type Selection = Pick<
  PipelineConfig,
  'messageFields' | 'readFields' | 'messageFormat' | 'filter' | 'publishMode' | 'changedMarginHours' | 'dryRun'
>;

export function loadSelection(env: Environment): Selection {
  const messageFormat = oneOf(env, 'MESSAGE_FORMAT', MESSAGE_FORMATS, DEFAULTS.messageFormat);
  const fields = messageFields(env);
  const filter = loadFilter(env);
  const publishMode = oneOf(env, 'PUBLISH_MODE', ['all', 'changed', 'missed'] as const, DEFAULTS.publishMode);
  return {
    messageFields: fields,
    // `missed` compares each row's ETag with what the live path recorded.
    readFields: [
      ...new Set([
        ...withEventFields(fields, messageFormat),
        ...filterFields(filter),
        ...(publishMode === 'missed' ? ['etag' as const] : []),
      ]),
    ],
    messageFormat,
    filter,
    dryRun: oneOf(env, 'DRY_RUN', ['true', 'false'] as const, 'false') === 'true',
    publishMode,
    changedMarginHours: integer(env, 'CHANGED_MARGIN_HOURS', DEFAULTS.changedMarginHours),
  };
}

/** A comma-separated variable's items, trimmed; none when it is unset or blank. */
export function listOf(env: Environment, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * `s3-event` messages carry the object's size, ETag and time: every source reads them, and a
 * report must have their columns. The storage class has no place in an S3 event.
 */
function withEventFields(fields: MessageField[], format: MessageFormat): MessageField[] {
  if (format !== 's3-event') return fields;
  if (fields.includes('storageClass')) {
    throw new ConfigError('MESSAGE_FIELDS storageClass: an S3 event notification (MESSAGE_FORMAT s3-event) has no storage class');
  }
  return [...fields, ...S3_EVENT_FIELDS];
}

/** Which objects are published: bounds on storage class, size and last modified time; none by default. */
export interface ObjectFilter {
  storageClassInclude?: string[];
  storageClassExclude?: string[];
  /** Bytes, inclusive. */
  minSize?: number;
  maxSize?: number;
  /** Epoch ms: modified at or after, and before. */
  modifiedAfter?: number;
  modifiedBefore?: number;
}

/** The variable of each filter, which errors and refusals name. */
export const FILTER_VARIABLES = {
  storageClass: 'STORAGE_CLASS_INCLUDE/STORAGE_CLASS_EXCLUDE',
  accessTier: 'STORAGE_CLASS_INCLUDE/STORAGE_CLASS_EXCLUDE',
  size: 'MIN_SIZE/MAX_SIZE',
  lastModified: 'MODIFIED_AFTER/MODIFIED_BEFORE',
} as const;

/** S3's storage classes, as reports and listings name them. */
export const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'GLACIER_IR',
  'SNOW',
  'EXPRESS_ONEZONE',
] as const;
/** Intelligent-Tiering's archive tiers, named in the storage class filters like classes of their own. */
export const ARCHIVE_TIERS = ['ARCHIVE_ACCESS', 'DEEP_ARCHIVE_ACCESS'] as const;
const FILTER_CLASSES: readonly string[] = [...STORAGE_CLASSES, ...ARCHIVE_TIERS];

function loadFilter(env: Environment): ObjectFilter {
  const classes = (name: string) => {
    const list = listOf(env, name);
    const unknown = list.find((item) => !FILTER_CLASSES.includes(item));
    if (unknown) throw new ConfigError(`${name} "${env[name]}": "${unknown}" is not a storage class (${FILTER_CLASSES.join(', ')})`);
    return list.length > 0 ? list : undefined;
  };
  const size = (name: string) => {
    const value = env[name]?.trim();
    if (!value) return undefined;
    const bytes = Number(value);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new ConfigError(`${name} "${value}" must be a whole number of bytes`);
    return bytes;
  };
  const time = (name: string) => {
    const value = env[name]?.trim();
    if (!value) return undefined;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new ConfigError(`${name} "${value}" is not an ISO 8601 time`);
    return ms;
  };
  const filter: ObjectFilter = {
    ...defined('storageClassInclude', classes('STORAGE_CLASS_INCLUDE')),
    ...defined('storageClassExclude', classes('STORAGE_CLASS_EXCLUDE')),
    ...defined('minSize', size('MIN_SIZE')),
    ...defined('maxSize', size('MAX_SIZE')),
    ...defined('modifiedAfter', time('MODIFIED_AFTER')),
    ...defined('modifiedBefore', time('MODIFIED_BEFORE')),
  };
  if ((filter.minSize ?? 0) > (filter.maxSize ?? Number.POSITIVE_INFINITY))
    throw new ConfigError(`MIN_SIZE is above MAX_SIZE: no object would pass`);
  return filter;
}

function defined<K extends keyof ObjectFilter>(key: K, value: ObjectFilter[K] | undefined): Partial<ObjectFilter> {
  return value === undefined ? {} : { [key]: value };
}

/** The fields the filters read of every object. */
export function filterFields(filter: ObjectFilter): MessageField[] {
  const fields: MessageField[] = [];
  if (filter.storageClassInclude || filter.storageClassExclude) fields.push('storageClass');
  const tiers = [...(filter.storageClassInclude ?? []), ...(filter.storageClassExclude ?? [])];
  if (tiers.some((name) => (ARCHIVE_TIERS as readonly string[]).includes(name))) fields.push('accessTier');
  if (filter.minSize !== undefined || filter.maxSize !== undefined) fields.push('size');
  if (filter.modifiedAfter !== undefined || filter.modifiedBefore !== undefined) fields.push('lastModified');
  return fields;
}

function messageFields(env: Environment): MessageField[] {
  const names = listOf(env, 'MESSAGE_FIELDS');
  for (const name of names) {
    if (!MESSAGE_FIELDS.includes(name as MessageField)) {
      throw new ConfigError(`MESSAGE_FIELDS "${env.MESSAGE_FIELDS}": "${name}" is not one of ${MESSAGE_FIELDS.join(', ')}`);
    }
  }
  if (new Set(names).size !== names.length) throw new ConfigError(`MESSAGE_FIELDS "${env.MESSAGE_FIELDS}" names a field twice`);
  return names as MessageField[];
}

function oneOf<T extends string>(env: Environment, name: string, choices: readonly T[], fallback: T): T {
  const value = env[name]?.trim() || fallback;
  if (!choices.includes(value as T)) throw new ConfigError(`${name} "${value}" must be ${choices.join(' or ')}`);
  return value as T;
}

/** `REQUEST_TIMEOUT_MS`: 100 ms to 15 minutes. */
export function loadRequestTimeoutMs(env: Environment): number {
  return integer(env, 'REQUEST_TIMEOUT_MS', DEFAULTS.requestTimeoutMs);
}

export function isFifoQueue(queueUrl: string): boolean {
  return queueUrl.endsWith('.fifo');
}

/** A queue URL never ends in "/"; one pasted with it would hide the `.fifo` that makes it FIFO. */
function requiredQueueUrl(env: Environment): string {
  const value = env.QUEUE_URL?.trim().replace(/\/+$/, '');
  if (!value) {
    throw new ConfigError(
      'QUEUE_URL is required: set it to the URL of the target SQS queue (in Lambda, QUEUE_ARN or QUEUE_NAME also name it)',
    );
  }
  const url = optionalUrl({ QUEUE_URL: value }, 'QUEUE_URL');
  if (!url || url.split('/').filter(Boolean).length < 4) {
    throw new ConfigError(`QUEUE_URL "${value}" is not a queue URL: expected https://sqs.<region>.amazonaws.com/<account>/<queue>`);
  }
  return value;
}

function optionalUrl(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    throw new ConfigError(`${name} "${value}" is not a valid URL`);
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new ConfigError(`${name} "${value}" must be an http:// or https:// URL`);
  }
  return value;
}

function optionalPattern(env: Environment, name: string): RegExp | undefined {
  const value = env[name];
  if (!value) return undefined;
  try {
    return new RegExp(value, 'u');
  } catch (error) {
    throw new ConfigError(`${name} "${value}" is not a valid regular expression: ${(error as Error).message}`);
  }
}

/** Settings of the inventory workers. */
export interface WorkerTuning {
  /** How often the checkpoint is saved while publishing. */
  checkpointIntervalMs: number;
  /** A checkpoint not saved for this long belongs to a worker that is gone. */
  leaseMs: number;
  /** Data files of more rows are split into shards of at most this many rows. */
  shardRows: number;
  /** Overrides the budget taken from the Lambda context (to force continuations locally). */
  timeBudgetMs?: number;
}

export function loadWorkerTuning(env: Environment): WorkerTuning {
  const timeBudgetMs = env.TIME_BUDGET_MS?.trim() ? integer(env, 'TIME_BUDGET_MS', 0) : undefined;
  return {
    checkpointIntervalMs: integer(env, 'CHECKPOINT_INTERVAL_MS', DEFAULTS.checkpointIntervalMs),
    leaseMs: integer(env, 'PART_LEASE_MS', DEFAULTS.leaseMs),
    shardRows: integer(env, 'SHARD_ROWS', DEFAULTS.shardRows),
    ...(timeBudgetMs !== undefined && { timeBudgetMs }),
  };
}

/** `WORKER_CONCURRENCY`: worker invocations at once, which a backfill run's ranges are sized to. */
export function loadWorkerConcurrency(env: Environment): number {
  return integer(env, 'WORKER_CONCURRENCY', DEFAULTS.workerConcurrency);
}

/** `LIVE_RECORD_BOUND`: the most keys a `missed` run loads from the live record of its window (the most by default). */
export function loadLiveRecordBound(env: Environment): number {
  return integer(env, 'LIVE_RECORD_BOUND', LIMITS.LIVE_RECORD_BOUND[1]);
}

/**
 * Where state of a kind is kept: `RUN_STATE_BUCKET`, under the prefix the variable `prefixVariable`
 * gives (`fallback` when unset), made to end with `/`; none without a state bucket.
 */
export function stateLocationFromEnvironment(
  env: Environment,
  prefixVariable: string,
  fallback = '',
): { bucket: string; prefix: string } | undefined {
  const bucket = env.RUN_STATE_BUCKET?.trim();
  if (!bucket) return undefined;
  const prefix = env[prefixVariable]?.trim().replace(/^\/+/, '') || fallback;
  return { bucket, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

function integer(env: Environment, name: keyof typeof LIMITS, fallback: number): number {
  const [min, max] = LIMITS[name];
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} "${raw}" must be a whole number from ${min} to ${max}`);
  }
  return value;
}
