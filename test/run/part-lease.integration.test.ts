import { beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../lib/core/aws-clients.ts';
import { startEmulatorProxy } from '../../lib/local/proxy.ts';
import { PartLease } from '../../lib/run/part-lease.ts';
import type { PartTask } from '../../lib/run/part-task.ts';
import { partLeaseClaim } from '../../lib/run/part-worker.ts';
import { checkpointKey, getJson, putJson, runFolder } from '../../lib/run/state.ts';
import type { PartCheckpoint } from '../../lib/run/types.ts';
import { silentLog, useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
const BUCKET = 'lease-inventory';
const HOUR = 3_600_000;

beforeAll(async () => {
  await aws.createBucket(BUCKET);
});

let tasks = 0;
/** A task of a report of its own, so that each test starts with no checkpoint. */
function newTask(): PartTask {
  tasks += 1;
  const manifest = { bucket: BUCKET, key: `inventory/src/cfg/2026-12-0${tasks}T00-00Z/manifest.json` };
  return {
    manifest,
    run: runFolder(manifest),
    sourceBucket: 'src',
    part: 0,
    parts: 1,
    file: { key: 'inventory/src/cfg/data/a.csv.gz', size: 1, md5: '0'.repeat(32) },
    columns: { bucket: 0, key: 1, details: {}, count: 2 },
    startRow: 0,
    sequence: 0,
  };
}

const take = (task: PartTask, owner: string, s3 = aws.s3) =>
  PartLease.take(s3, runFolder(task.manifest), partLeaseClaim(task), { owner, leaseMs: HOUR, log: silentLog });
const stored = async (task: PartTask) =>
  (await getJson<PartCheckpoint>(aws.s3, BUCKET, checkpointKey(runFolder(task.manifest), task.part)))?.value;

describe('PartLease', () => {
  it('is taken once: a second worker is told who holds it while the holder saves', async () => {
    const task = newTask();
    const lease = await take(task, 'a');
    expect(lease).toBeInstanceOf(PartLease);
    expect(await take(task, 'b')).toMatch(/^another worker holds the work \(checkpoint saved \d+ s ago\)$/);
  });

  it('is lost on a conflicting write, and writes nothing more', async () => {
    const task = newTask();
    const lease = (await take(task, 'a')) as PartLease;
    const key = checkpointKey(runFolder(task.manifest), task.part);
    const theirs = { ...lease.checkpoint, owner: 'b', updatedAt: new Date().toISOString() };
    await putJson(aws.s3, BUCKET, key, theirs);

    expect(await lease.save({ rowsDone: 10 })).toBe(false);
    expect(lease.lost).toBe(true);
    expect(await lease.save({ rowsDone: 20 })).toBe(false);
    expect(await stored(task)).toEqual(theirs);
  });

  it('knows its own write when the answer was lost and the SDK retried it after the deadline', async () => {
    const task = newTask();
    let lose = 1;
    const proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      loseAnswer: (method, path) => method === 'PUT' && path.includes('/parts/') && lose-- > 0,
    });
    try {
      const { s3 } = createAwsClients({ concurrency: 4, endpointUrl: proxy.endpoint, requestTimeoutMs: 300 });
      // The creation's answer is lost: the retry's If-None-Match fails against the first attempt.
      const lease = (await take(task, 'a', s3)) as PartLease;
      expect(lease).toBeInstanceOf(PartLease);
      expect(proxy.counts.answersLost).toBe(1);
      // Then a save's: the retry's If-Match fails against the ETag the first attempt made.
      lose = 1;
      expect(await lease.save({ rowsDone: 7 })).toBe(true);
      expect(proxy.counts.answersLost).toBe(2);
      expect(lease.lost).toBe(false);
      // The ETag it kept is the one its write made: the next save's If-Match holds.
      expect(await lease.save({ rowsDone: 9 })).toBe(true);
      expect(await stored(task)).toMatchObject({ owner: 'a', rowsDone: 9 });
    } finally {
      await proxy.stop();
    }
  });

  it('on release records the error and lets the next task take the part at once', async () => {
    const task = newTask();
    const lease = (await take(task, 'a')) as PartLease;
    await lease.release('SQS refused the batch');
    expect(await stored(task)).toMatchObject({ owner: '', lastError: 'SQS refused the batch' });

    const next = await take(task, 'b');
    expect(next).toBeInstanceOf(PartLease);
    expect((next as PartLease).checkpoint).toMatchObject({ owner: 'b', handedOver: false });
    expect((next as PartLease).checkpoint.lastError).toBeUndefined();
  });

  it('saves the progress it is given on every heartbeat until stopped', async () => {
    const task = newTask();
    const lease = (await take(task, 'a')) as PartLease;
    let rowsDone = 0;
    lease.keepAlive(20, () => ({ rowsDone: (rowsDone += 5), counters: lease.checkpoint.counters }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    await lease.stop();
    const saved = (await stored(task))?.rowsDone ?? 0;
    expect(saved).toBeGreaterThanOrEqual(10);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await stored(task))?.rowsDone).toBe(saved);
  });
});
