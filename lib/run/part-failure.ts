import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { parsePartTask, type PartTask } from './part-task.ts';
import { completeRunIfFinished, type RunReport } from './report.ts';
import { checkpointKey, finishedKey, getJson, putJson, runFolder, type PartCheckpoint, type PartResult } from './state.ts';
import { RunStats } from '../core/run-stats.ts';
import type { Log } from '../core/types.ts';

/**
 * Records a part whose task ended in the dead-letter queue as failed, with the last error its
 * workers saved, so that the run still gets its report and the report names the part.
 */
export async function recordFailedPart(s3: S3Client, task: PartTask, reason: string, log: Log): Promise<RunReport | undefined> {
  const run = runFolder(task.manifest);
  const checkpoint = (await getJson<PartCheckpoint>(s3, run.bucket, checkpointKey(run, task.part)))?.value;
  const result: PartResult = {
    part: task.part,
    file: task.file.key,
    status: 'failed',
    rowsDone: checkpoint?.rowsDone ?? task.startRow,
    counters: checkpoint?.counters ?? new RunStats().counters(),
    continuations: checkpoint?.continuations ?? task.sequence,
    ...(checkpoint && { startedAt: checkpoint.startedAt }),
    endedAt: new Date().toISOString(),
    error: checkpoint?.lastError ? `${reason}; last error: ${checkpoint.lastError}` : reason,
  };
  // A result already there (the part was done after all) is kept.
  if ((await putJson(s3, run.bucket, finishedKey(run, task.part), result, { ifNoneMatch: '*' })) !== undefined) {
    log.error('part failed', { ...result });
  }
  return completeRunIfFinished(s3, task, log);
}

/** Dead-letter messages → their parts recorded as failed. A message that is no task is logged and dropped. */
export async function recordDeadLetters(event: SQSEvent, s3: S3Client, log: Log): Promise<void> {
  for (const record of event.Records) {
    let task: PartTask;
    try {
      task = parsePartTask(record.body);
    } catch (error) {
      log.error('dropped a dead-letter message that is not a part task', { messageId: record.messageId, error: String(error) });
      continue;
    }
    const receives = record.attributes.ApproximateReceiveCount;
    await recordFailedPart(s3, task, `the task went to the dead-letter queue after failing every delivery (received ${receives} times)`, log);
  }
}
