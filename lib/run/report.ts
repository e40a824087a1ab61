import type { S3Client } from '@aws-sdk/client-s3';
import { formatS3Uri } from '../core/s3-location.ts';
import { fetchManifest } from '../inventory/manifest.ts';
import { sumCounters } from './completion.ts';
import {
  claimKey,
  finishedPrefix,
  finishedResults,
  getJson,
  reportKey,
  runFolder,
  type RunStateStore,
  checkpointKey,
  shardFinishedPrefix,
} from './state.ts';
import type { S3Location } from '../core/types.ts';
import type { PartCheckpoint, PartCounters, PartResult, RunClaim, RunReport, RunStatus, ShardResult } from './types.ts';

export async function runStatus(s3: S3Client, manifest: S3Location, store?: RunStateStore): Promise<RunStatus> {
  const run = runFolder(manifest, store);
  const uri = formatS3Uri(manifest);
  const stateLocation = `s3://${run.bucket}/${run.prefix}`;
  // A report that does not exist (a typo, a missing bucket) is an error that says so, not "not started".
  await fetchManifest(s3, manifest);
  const claim = (await getJson<RunClaim>(s3, run.bucket, claimKey(run)))?.value;
  if (!claim) return { manifest: uri, state: 'not started', stateLocation };
  const report = (await getJson<RunReport>(s3, run.bucket, reportKey(run)))?.value;
  const { sourceBucket } = claim;
  if (report) {
    const { parts, shards, totals } = report;
    return {
      manifest: uri,
      sourceBucket,
      state: report.status,
      stateLocation,
      parts,
      partsFinished: parts,
      shards,
      shardsFinished: shards,
      totals,
      report,
    };
  }
  const finished: PartResult[] = [];
  for await (const result of finishedResults<PartResult>(s3, run.bucket, finishedPrefix(run))) finished.push(result);
  const done = new Set(finished.map((result) => result.part));
  let shards = finished.reduce((sum, result) => sum + (result.shards?.length ?? 1), 0);
  let shardsFinished = shards;
  const counted: Array<{ counters: PartCounters; continuations: number }> = [...finished];
  const running: PartCheckpoint[] = [];
  for (let part = 0; part < claim.parts; part += 1) {
    if (done.has(part)) continue;
    const checkpoint = (await getJson<PartCheckpoint>(s3, run.bucket, checkpointKey(run, part)))?.value;
    shards += checkpoint?.shards ?? 1;
    if (checkpoint?.shards === undefined) {
      if (checkpoint) running.push(checkpoint);
      continue;
    }
    // A split part: its finished shards' results, then the checkpoints of the others.
    const shardDone = new Set<number>();
    for await (const result of finishedResults<ShardResult>(s3, run.bucket, shardFinishedPrefix(run, part))) {
      shardDone.add(result.shard);
      counted.push(result);
    }
    shardsFinished += shardDone.size;
    for (let shard = 0; shard < checkpoint.shards; shard += 1) {
      if (shardDone.has(shard)) continue;
      const shardCheckpoint = (await getJson<PartCheckpoint>(s3, run.bucket, checkpointKey(run, part, shard)))?.value;
      if (shardCheckpoint) running.push(shardCheckpoint);
    }
  }
  return {
    manifest: uri,
    sourceBucket,
    state: 'running',
    stateLocation,
    parts: claim.parts,
    partsFinished: finished.length,
    shards,
    shardsFinished,
    totals: sumCounters([...counted, ...running]),
    running: running.map((checkpoint) => ({
      part: checkpoint.part,
      ...(checkpoint.shard !== undefined && { shard: checkpoint.shard }),
      rowsDone: checkpoint.rowsDone,
      published: checkpoint.counters.published,
      updatedAt: checkpoint.updatedAt,
      ...(checkpoint.lastError && { lastError: checkpoint.lastError }),
    })),
  };
}
