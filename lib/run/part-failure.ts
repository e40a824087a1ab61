import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { type PartTask, parseWorkTask, type WorkTask } from './part-task.ts';
import { recordFailedRange } from './range-worker.ts';
import { completeRunIfFinished } from './completion.ts';
import { recordResult } from './shards.ts';
import { checkpointKey, getJson } from './state.ts';
import { RunStats } from '../core/run-stats.ts';
import type { Log } from '../core/types.ts';
import type { PartCheckpoint, RunReport, WorkResult } from './types.ts';

/**
 * Records a part (or a shard of one) whose task ended in the dead-letter queue as failed, with the
 * last error its workers saved, so that the run still gets its report and the report names it.
 */
export async function recordFailedPart(s3: S3Client, task: PartTask, reason: string, log: Log): Promise<RunReport | undefined> {
  const run = task.run;
  const checkpoint = (await getJson<PartCheckpoint>(s3, run.bucket, checkpointKey(run, task.part, task.shard?.index)))?.value;
  const result: WorkResult = {
    status: 'failed',
    rowsDone: checkpoint?.rowsDone ?? task.startRow,
    counters: checkpoint?.counters ?? new RunStats().counters(),
    continuations: checkpoint?.continuations ?? task.sequence,
    ...(checkpoint && { startedAt: checkpoint.startedAt }),
    endedAt: new Date().toISOString(),
    error: checkpoint?.lastError ? `${reason}; last error: ${checkpoint.lastError}` : reason,
  };
  // A result already there (the part was done after all) is kept.
  if (await recordResult(s3, task, result, log, true)) {
    log.error('part failed', { part: task.part, ...(task.shard && { shard: task.shard.index }), file: task.file.key, ...result });
  }
  return completeRunIfFinished(s3, task, log);
}

/** Dead-letter messages → their parts or ranges recorded as failed. A message that is no task is logged and dropped. */
export async function recordDeadLetters(event: SQSEvent, s3: S3Client, log: Log): Promise<void> {
  for (const record of event.Records) {
    let task: WorkTask;
    try {
      task = parseWorkTask(record.body);
    } catch (error) {
      log.error('dropped a dead-letter message that is not a work task', { messageId: record.messageId, error: String(error) });
      continue;
    }
    const receives = record.attributes.ApproximateReceiveCount;
    const reason = `the task went to the dead-letter queue after failing every delivery (received ${receives} times)`;
    if ('kind' in task) await recordFailedRange(s3, task, reason, log);
    else await recordFailedPart(s3, task, reason, log);
  }
}
