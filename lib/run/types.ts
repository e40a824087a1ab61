import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { WorkerTuning } from '../core/config.ts';
import type { StatsSummary } from '../core/run-stats.ts';
import type { VerifiedFile } from '../inventory/data-file.ts';
import type { PipelineContext } from '../publish/pipeline.ts';
import type { KeyRange } from '../backfill/key-ranges.ts';
import type { CompactedRecord } from '../live/live-window.ts';

// The shapes of a run's state objects (see state.ts for where each one lives), of its report and
// status, and of a worker's context and outcome: in one module, so that the modules that read and
// write them depend on it and not on each other.

/** The run that `changed` mode publishes the difference from. */
export interface Baseline {
  /** The manifest of the last earlier report of the same configuration whose run completed. */
  manifest: string;
  /** When that report's scan began (its folder's name). */
  scanStart: string;
  /** Objects modified at or after this are published: the scan start less the margin. */
  changedSince: string;
}

/** Counters of a part, summed over every invocation that worked on it. */
export type PartCounters = Omit<StatsSummary, 'durationMs'>;

export interface RunClaim {
  manifest: string;
  sourceBucket: string;
  parts: number;
  claimedAt: string;
  /** The claiming invocation will have ended by then: a claim still `claimed` after it is abandoned. */
  expiresAt: string;
  /** `claimed` while the tasks are being queued, `queued` once they all are, `released` after a failure. */
  status: 'claimed' | 'queued' | 'released';
  /** Tasks of parts 0 to `queued` - 1 are on the work queue: a fan-out taken over resumes there. */
  queued?: number;
  /** A dry run (`DRY_RUN=true`): its workers send nothing and count what they would send. */
  dryRun?: boolean;
  /** `changed` mode: the run published the difference from this one, or everything (`none`). */
  baseline?: Baseline | 'none';
  /** `missed` mode: what the live path published in the window, compacted for the workers. */
  liveRecord?: CompactedRecord;
}

/** What every checkpoint (the lease of a part, a shard or a key range) holds. */
export interface LeaseRecord {
  /** The task attempt holding the work: SQS message id and receive count; empty when freed. */
  owner: string;
  /** Continuation number of the owner's task: 0 for the first. */
  sequence: number;
  /** The owner queued a continuation and stopped: a later task takes over. */
  handedOver?: boolean;
  counters: PartCounters;
  continuations: number;
  startedAt: string;
  updatedAt: string;
  lastError?: string;
}

export interface PartCheckpoint extends LeaseRecord {
  part: number;
  /** Set on the checkpoint of a shard. */
  shard?: number;
  file: string;
  /** Leading rows of the data file whose keys are settled: a resumed task starts after them. */
  rowsDone: number;
  /** Set once the data file's size and MD5 were checked: its rows, and the ETag checked. */
  verified?: VerifiedFile;
  /** The part was split into this many shards, each published by tasks of its own. */
  shards?: number;
}

/** How a part, or a shard of one, ended. */
export interface WorkResult {
  status: 'done' | 'failed';
  rowsDone: number;
  counters: PartCounters;
  continuations: number;
  startedAt?: string;
  endedAt: string;
  error?: string;
}

export interface PartResult extends WorkResult {
  part: number;
  file: string;
  /** A part split into shards: each one's result, in order. */
  shards?: ShardResult[];
}

export interface ShardResult extends WorkResult {
  shard: number;
  /** The shard's rows are those after `firstRow`, up to `lastRow` or the end of the file. */
  firstRow: number;
  lastRow?: number;
}

export type RunTotals = Pick<
  StatsSummary,
  'rowsRead' | 'published' | 'skipped' | 'skippedByReason' | 'failed' | 'retries' | 'sends' | 'sqsRequests'
> & {
  continuations: number;
};

/** Written next to the manifest when every part has a result. */
export interface RunReport {
  manifest: string;
  sourceBucket: string;
  /** `complete` when every part was done; `failed` when any part failed. */
  status: 'complete' | 'failed';
  parts: number;
  /** Row ranges published by tasks of their own: each split part's shards, and 1 per other part. */
  shards: number;
  failedParts: number[];
  startedAt: string;
  endedAt: string;
  totals: RunTotals;
  /** Messages published per second from the claim to the report: the rate the run held. */
  messagesPerSecond: number;
  /** A dry run: nothing was sent; `totals.published`, `sends` and `sqsRequests` are what a real run would send. */
  dryRun?: boolean;
  /** `changed` mode: the run it published the difference from, or `none` (everything). */
  baseline?: Baseline | 'none';
  /** `missed` mode: the live record the run skipped by; `overBound`: none, every changed key published. */
  liveRecord?: CompactedRecord;
  partResults: PartResult[];
}

/** How far a run has come, from its state objects. */
export interface RunStatus {
  manifest: string;
  /** The bucket the report lists, once the run is claimed: one stack may run several. */
  sourceBucket?: string;
  state: 'not started' | 'running' | 'complete' | 'failed';
  /** Where the run's state is kept (or would be): s3://<bucket>/<prefix>. */
  stateLocation: string;
  parts?: number;
  partsFinished?: number;
  /** Row ranges published by tasks of their own, as far as known: parts not split yet count 1. */
  shards?: number;
  shardsFinished?: number;
  /** Sums over the parts' and shards' results and latest checkpoints. */
  totals?: RunTotals;
  /** Parts and shards being worked on: rows done so far and when their checkpoint was last saved. */
  running?: Array<{ part: number; shard?: number; rowsDone: number; published: number; updatedAt: string; lastError?: string }>;
  report?: RunReport;
}

/** The workers' tuning from the environment, and the queue their tasks come from. */
export type WorkerSettings = Omit<WorkerTuning, 'timeBudgetMs'> & { workQueueUrl: string };

export interface WorkerContext extends PipelineContext {
  /** Client for the work queue, with the SDK's own retries. */
  work: SQSClient;
  settings: WorkerSettings;
  /** Where each invocation's counters go as CloudWatch metrics, if anywhere. */
  metrics?: Metrics;
}

export type PartOutcome = { part: number; shard?: number; sequence: number } & (
  | {
      status: 'done' | 'continued';
      rowsDone: number;
      /** Messages published by this invocation. */
      published: number;
      report?: RunReport;
    }
  | { status: 'split'; shards: number }
  | { status: 'skipped'; reason: string }
);

/** A key range of a backfill run still to be queued: a piece its holder split off. */
export interface RangePiece {
  id: string;
  range: KeyRange;
  /** Ranges the piece may still make, itself included. */
  budget: number;
}

export interface RangeCheckpoint extends LeaseRecord {
  id: string;
  /** The range as it stands: its end moves down each time its holder splits the rest off. */
  range: KeyRange;
  /** The last key settled with every key before it; absent while none is (the range's start). */
  settledThrough?: string;
  /** Keys of the range up to `settledThrough`, each counted once however often a crash had it listed again. */
  keysSettled?: number;
  /** Pieces split off so far: their ids are `<id>-1` to `<id>-<children>`. */
  children: number;
  /** Ranges this one may still make, itself included: 1 means it splits no more. */
  budget: number;
  /** Pieces recorded but perhaps not queued yet: the next holder queues them first. */
  pending?: RangePiece[];
  /** At least one key of the range was listed. */
  hadKeys?: boolean;
}

/** How a key range of a backfill run ended; kept at `finished/<id>~<children>.json`. */
export interface RangeResult extends Omit<WorkResult, 'rowsDone'> {
  id: string;
  children: number;
  hadKeys: boolean;
}

/** The plan of a backfill run: written once by the backfill function, before its ranges are queued. */
export interface BackfillClaim {
  kind: 'backfill';
  runId: string;
  bucket: string;
  prefix: string;
  /** The ranges planned (`0` to `roots - 1`); the workers split them further. */
  roots: number;
  /** Ranges each planned one may grow into, itself included. */
  budget: number;
  claimedAt: string;
  modifiedSince?: string;
  dryRun?: boolean;
}

/** Written in the backfill run's folder when every range has a result. */
export interface BackfillReport {
  kind: 'backfill';
  runId: string;
  bucket: string;
  prefix: string;
  status: 'complete' | 'failed';
  /** Range tasks created: those planned and the pieces the workers split off. */
  ranges: number;
  /** Ranges that held at least one key. */
  rangesWithKeys: number;
  failedRanges: Array<{ id: string; error: string }>;
  startedAt: string;
  endedAt: string;
  totals: RunTotals;
  messagesPerSecond: number;
  dryRun?: boolean;
}

/** How far a backfill run has come, from its state objects. */
export interface BackfillStatus {
  kind: 'backfill';
  runId: string;
  bucket: string;
  prefix: string;
  state: 'running' | 'complete' | 'failed';
  stateLocation: string;
  /** Ranges with a result; being listed (a checkpoint saved within the lease); known but not taken yet. */
  ranges: { done: number; inFlight: number; queued: number };
  totals: RunTotals;
  /** Messages published per second since the run was planned. */
  messagesPerSecond: number;
  report?: BackfillReport;
}

export type RangeOutcome = { range: string; sequence: number } & (
  | {
      status: 'done' | 'continued';
      /** Messages published by this invocation, and pieces it split off. */
      published: number;
      split: number;
      report?: BackfillReport;
    }
  | { status: 'skipped'; reason: string }
);
