import type { S3Client } from '@aws-sdk/client-s3';
import { isFifoQueue } from '../core/config.ts';
import { type CostEstimate, estimateCost } from '../core/prices.ts';
import type { StatsSummary } from '../core/run-stats.ts';
import { DiscardingSender } from './discarding-sender.ts';

/** The name of the middleware that counts a dry run's S3 requests. */
const COUNTER = 'dryRunRequestCount';
/** The lean sender's CPU per SendMessageBatch call (docs/performance.md): what a dry run does not spend. */
const SEND_CPU_MS = 0.13;

/** What a dry run adds to a run's summary: what the same run would send, and cost. */
export interface DryRunFigures {
  dryRun: true;
  /** Messages a real run would publish (`published` is 0). */
  wouldPublish: number;
  sendMessageBatchCalls: number;
  /** SQS requests a real run would be billed: every 64 KiB of a call's payload is one. */
  sqsRequests: number;
  s3Requests: { get: number; list: number };
  /** This run's CPU time plus the sends it did not make: what a one-vCPU worker would take. */
  lambdaSeconds: number;
  estimatedCostUsd: CostEstimate;
}

/**
 * A run that reads, checks and selects exactly as a real one and publishes nothing: its batches
 * go to a discarding sender (the publisher counts them), its S3 requests are counted as they are
 * made, and its CPU time is measured, so that its summary can say what a real run would send and cost (`lib/core/prices.ts`).
 */
export class DryRun {
  readonly sender = new DiscardingSender();
  readonly #s3: S3Client;
  readonly #s3Calls = new Map<string, number>();
  readonly #cpuAtStart = process.cpuUsage();

  /** Counts the S3 requests `s3` makes until `summary()`: a client kept for other runs stops counting then. */
  constructor(s3: S3Client) {
    this.#s3 = s3;
    // A dry run that failed before its summary left its counter on the client: this one replaces it.
    s3.middlewareStack.remove(COUNTER);
    s3.middlewareStack.add(
      (next, context) => (args) => {
        this.#s3Calls.set(context.commandName ?? '', (this.#s3Calls.get(context.commandName ?? '') ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: COUNTER },
    );
  }

  /** The summary of the run, with `published` 0 and what it would have sent instead. */
  summary<Summary extends StatsSummary>(summary: Summary, queueUrl: string): Summary & DryRunFigures {
    this.#s3.middlewareStack.remove(COUNTER);
    const cpu = process.cpuUsage(this.#cpuAtStart);
    const calls = (name: string) => this.#s3Calls.get(name) ?? 0;
    const s3Requests = { get: calls('GetObjectCommand') + calls('HeadObjectCommand'), list: calls('ListObjectsV2Command') };
    const { sends = 0, sqsRequests = 0 } = summary;
    const lambdaSeconds = Math.round((cpu.user + cpu.system) / 1e4 + (sends * SEND_CPU_MS) / 10) / 100;
    return {
      ...summary,
      published: 0,
      dryRun: true,
      wouldPublish: summary.published,
      sendMessageBatchCalls: sends,
      sqsRequests,
      s3Requests,
      lambdaSeconds,
      estimatedCostUsd: estimateCost({
        sqsRequests,
        fifo: isFifoQueue(queueUrl),
        s3Gets: s3Requests.get,
        s3Lists: s3Requests.list,
        lambdaSeconds,
      }),
    };
  }
}
