import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { keysOf, putObject, useEmulator } from '../support/emulator.ts';
import { runCli } from '../support/run-cli.ts';

const aws = useEmulator();
const FIXTURE = fileURLToPath(new URL('../fixtures/versioned-report/', import.meta.url));
const MANIFEST = 's3://fixture-inventory/inventory/fixture-photos/all-versions/2026-11-28T01-00Z/manifest.json';

beforeAll(async () => {
  // Upload the report made by gzip and md5sum (see make-report.sh) as S3 would have written it.
  await aws.createBucket('fixture-inventory');
  for (const entry of await readdir(join(FIXTURE, 'inventory'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    await putObject(aws.s3, 'fixture-inventory', relative(FIXTURE, path), await readFile(path));
  }
});

describe('cli inventory', () => {
  it('publishes exactly the current keys of a report written by another tool, and exits 0', async () => {
    const expected = JSON.parse(await readFile(join(FIXTURE, 'expected-keys.json'), 'utf8')) as string[];
    const queueUrl = await aws.createQueue('cli-objects.fifo');
    const result = await runCli(['inventory', MANIFEST, queueUrl, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({
      manifest: MANIFEST,
      dataFiles: 2,
      rowsRead: 11,
      published: expected.length,
      skipped: 3,
      skippedByReason: { notLatest: 2, deleteMarker: 1, patternMismatch: 0, malformedKey: 0 },
      failed: 0,
    });
    expect(result.json()).toHaveProperty('durationMs');
    const bodies = await aws.drain(queueUrl);
    expect(keysOf(bodies)).toEqual([...expected].sort());
    expect(bodies.every((body) => JSON.parse(body).bucket === 'fixture-photos')).toBe(true);
  });

  it('prints a human summary without --json', async () => {
    const result = await runCli(['inventory', MANIFEST, await aws.createQueue('cli-human')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^8 messages were published in [\d.]+ s/);
    expect(result.stdout).toContain('skipped 3 (deleteMarker 1, notLatest 2)');
  });

  it('exits 1 with the reason and a summary when the run fails', async () => {
    const missing = 's3://fixture-inventory/inventory/nothing/manifest.json';
    const result = await runCli(['inventory', missing, await aws.createQueue('cli-failing'), '--json']);
    expect(result.code).toBe(1);
    expect(result.json()).toMatchObject({ published: 0, failed: 0, error: expect.stringContaining('could not be read: NoSuchKey') });
  });

  it('exits 2 and names the bad argument', async () => {
    const notUri = await runCli(['inventory', 'fixture-inventory/manifest.json', 'https://sqs.us-east-1.amazonaws.com/1/q']);
    expect(notUri.code).toBe(2);
    expect(notUri.stderr).toContain('"fixture-inventory/manifest.json" is not an S3 object URI');
    const badConcurrency = await runCli(['inventory', MANIFEST, 'https://sqs.us-east-1.amazonaws.com/1/q', '--concurrency', 'lots']);
    expect(badConcurrency.code).toBe(2);
    expect(badConcurrency.stderr).toContain('CONCURRENCY "lots" must be a whole number');
  });
});

describe('cli seed', () => {
  it('writes <sha256>.<ext> sample objects to a bucket', async () => {
    await aws.createBucket('seeded');
    const result = await runCli(['seed', 'seeded', '--count', '25']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^25 objects were written to s3:\/\/seeded in/);
    const { Contents = [] } = await aws.s3.send(new ListObjectsV2Command({ Bucket: 'seeded' }));
    expect(Contents).toHaveLength(25);
    for (const object of Contents) expect(object.Key).toMatch(/^[0-9a-f]{64}\.(jpg|png|pdf|txt)$/);
  });

  it('names the bucket when it cannot write to it', async () => {
    const result = await runCli(['seed', 'no-such-bucket', '--count', '3']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('writing to bucket "no-such-bucket" failed: NoSuchBucket');
  });
});
