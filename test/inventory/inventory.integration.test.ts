import type { S3Event, S3EventRecord } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BatchPublisher } from '../../lib/publish/batch-publisher.ts';
import { publishAll, requireAllPublished } from '../../lib/publish/pipeline.ts';
import { fifoFields } from '../../lib/core/message.ts';
import { startEmulatorProxy, type EmulatorProxy } from '../../lib/local/proxy.ts';
import { ChecksumMismatchError, RunFailedError } from '../../lib/core/errors.ts';
import { publishInventoryReport, type InventorySummary } from '../../lib/inventory/job.ts';
import { writeInventoryReport, type InventoryRow } from '../../lib/local/report-writer.ts';
import { RunStats } from '../../lib/core/run-stats.ts';
import type { S3Location } from '../../lib/core/types.ts';
import { hexKeys, keysOf, putObject, silentLog, useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
const SOURCE = 'photos';
const INVENTORY = 'inventory-reports';
let queueCount = 0;
let proxy: EmulatorProxy | undefined;

beforeAll(async () => {
  await aws.createBucket(SOURCE);
  await aws.createBucket(INVENTORY);
});

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

const row = (key: string, extra: Partial<InventoryRow> = {}): InventoryRow => ({
  key,
  size: 10,
  lastModified: new Date('2026-11-27T10:00:00Z'),
  etag: 'd41d8cd98f00b204e9800998ecf8427e',
  ...extra,
});
async function report(rows: InventoryRow[], options: { files?: number; includeVersions?: boolean } = {}): Promise<S3Location> {
  const written = await writeInventoryReport(aws.s3, {
    sourceBucket: SOURCE,
    destinationBucket: INVENTORY,
    prefix: 'reports',
    configId: `config-${(queueCount += 1)}`,
    rows,
    rowsPerFile: Math.ceil(rows.length / (options.files ?? 1)),
    includeVersions: options.includeVersions ?? false,
  });
  return written.manifest;
}

const newQueue = (fifo = false) => aws.createQueue(`objects-${(queueCount += 1)}${fifo ? '.fifo' : ''}`);

describe('publishInventoryReport', () => {
  it('sends exactly {"bucket","key"} per object', async () => {
    const queueUrl = await newQueue();
    await publishInventoryReport(await report([row('one.jpg')]), aws.context(queueUrl));
    expect(await aws.drain(queueUrl)).toEqual(['{"bucket":"photos","key":"one.jpg"}']);
  });

  it('publishes every key of a multi-part report exactly once', async () => {
    const keys = hexKeys(2_500);
    const queueUrl = await newQueue();
    const summary = await publishInventoryReport(
      await report(
        keys.map((key) => row(key)),
        { files: 5 },
      ),
      aws.context(queueUrl),
    );
    expect(summary).toMatchObject({ sourceBucket: SOURCE, dataFiles: 5, rowsRead: 2_500, published: 2_500, skipped: 0, failed: 0 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('decodes awkward keys', async () => {
    const keys = [
      'with space.jpg',
      'literal+plus.jpg',
      '100% done.txt',
      'café/日本語/Ünïcødé.png',
      'nested/dir/deep/file.bin',
      '"quoted", with comma.csv',
      `long/${'x'.repeat(1_019)}`,
    ];
    expect(Buffer.byteLength(keys.at(-1) ?? '')).toBe(1_024);
    const queueUrl = await newQueue();
    await publishInventoryReport(await report(keys.map((key) => row(key))), aws.context(queueUrl));
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('skips delete markers and older versions', async () => {
    const rows = [
      row('current.jpg', { versionId: 'v2', isLatest: true }),
      row('current.jpg', { versionId: 'v1', isLatest: false }),
      row('deleted.jpg', { versionId: 'v3', isLatest: true, isDeleteMarker: true }),
      row('deleted.jpg', { versionId: 'v2', isLatest: false }),
      row('unversioned.jpg', { versionId: '', isLatest: true }),
    ];
    const queueUrl = await newQueue();
    const summary = await publishInventoryReport(await report(rows, { includeVersions: true }), aws.context(queueUrl));
    expect(summary.skippedByReason).toMatchObject({ notLatest: 2, deleteMarker: 1 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(['current.jpg', 'unversioned.jpg']);
  });

  it('skips and counts keys that do not match KEY_PATTERN', async () => {
    const queueUrl = await newQueue();
    const manifest = await report(['a.jpg', 'b.png', 'c.jpg'].map((key) => row(key)));
    const summary = await publishInventoryReport(manifest, aws.context(queueUrl, { keyPattern: /\.jpg$/u }));
    expect(summary).toMatchObject({ published: 2, skipped: 1, skippedByReason: { patternMismatch: 1 } });
  });

  it('counts and reports keys with a malformed escape, and publishes the rest', async () => {
    const lines = ['"photos","good%20one.jpg"', '"photos","bad%zz.jpg"', '', ''];
    const manifest = await rawReport('Bucket, Key', lines.join('\n'));
    const queueUrl = await newQueue();
    const summary = await publishInventoryReport(manifest, aws.context(queueUrl));
    expect(summary).toMatchObject({ published: 1, skippedByReason: { malformedKey: 1 }, malformedKeys: ['bad%zz.jpg'] });
  });

  it('fails with a clear error when a data file does not match its MD5', async () => {
    const manifest = await rawReport('Bucket, Key', '"photos","a.jpg"\n', '0'.repeat(32));
    const queueUrl = await newQueue();
    const run = publishInventoryReport(manifest, aws.context(queueUrl));
    await expect(run).rejects.toThrow(RunFailedError);
    await expect(run).rejects.toThrow(/data file s3:\/\/inventory-reports\/.+\.csv\.gz has MD5 [0-9a-f]{32}; the manifest says 0{32}/);
    await expect(run.catch((error: RunFailedError) => error.cause)).resolves.toBeInstanceOf(ChecksumMismatchError);
  });

  it('publishes no row of a data file whose MD5 does not match, not even the ones before the check', async () => {
    const rows = hexKeys(2_000).map((key) => `"photos","${key}"`);
    const manifest = await rawReport('Bucket, Key', `${rows.join('\n')}\n`, 'f'.repeat(32));
    const queueUrl = await newQueue();
    const run = publishInventoryReport(manifest, aws.context(queueUrl));
    await expect(run).rejects.toThrow(/has MD5 [0-9a-f]{32}; the manifest says f{32}/);
    await expect(run.catch((error: RunFailedError) => error.summary)).resolves.toMatchObject({ published: 0 });
    expect(await aws.drain(queueUrl)).toEqual([]);
  });

  it('resumes a download that stalls mid-body, from the byte where it stopped, and checks the whole file', async () => {
    const keys = hexKeys(3_000);
    const manifest = await report(keys.map((key) => row(key)));
    const queueUrl = await newQueue();
    let stalls = 0;
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      // The first two reads of the data file go silent after 5,000 bytes; the connection stays open.
      stallResponse: (method, path) => (method === 'GET' && path.includes('.csv.gz') && (stalls += 1) <= 2 ? 5_000 : undefined),
    });
    const summary = await publishInventoryReport(manifest, aws.context(queueUrl, { requestTimeoutMs: 300 }, proxy.endpoint));
    expect(proxy.counts.responsesStalled).toBe(2);
    expect(summary).toMatchObject({ published: 3_000, failed: 0 });
    expect(summary.downloadResumes ?? 0).toBeGreaterThanOrEqual(1);
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('gives up on a download that never resumes, naming the file and the byte', async () => {
    const manifest = await report(hexKeys(2_000).map((key) => row(key)));
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      stallResponse: (method, path) => (method === 'GET' && path.includes('.csv.gz') ? 0 : undefined),
    });
    const run = publishInventoryReport(manifest, aws.context(await newQueue(), { requestTimeoutMs: 200 }, proxy.endpoint));
    await expect(run).rejects.toThrow(/data file s3:\/\/.+\.csv\.gz stopped at byte 0 of \d+ after 5 resumes: TimeoutError/);
  }, 30_000);

  it('re-sends a SendMessageBatch that gets no answer within the request timeout', async () => {
    const keys = hexKeys(200);
    const manifest = await report(keys.map((key) => row(key)));
    const queueUrl = await newQueue();
    let calls = 0;
    // The first three calls are held for ever (and never reach the queue), as a hung connection would be.
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { holdRequest: () => (calls += 1) <= 3 });
    const summary = await publishInventoryReport(manifest, aws.context(queueUrl, { requestTimeoutMs: 300 }, proxy.endpoint));
    expect(proxy.counts.requestsHeld).toBe(3);
    expect(summary).toMatchObject({ published: 200, failed: 0, retries: 30 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it("adds MESSAGE_FIELDS after bucket and key, typed, from the report's columns", async () => {
    const written = await writeInventoryReport(aws.s3, {
      sourceBucket: SOURCE,
      destinationBucket: INVENTORY,
      prefix: 'fields',
      configId: 'all-fields',
      rows: [
        row('a.jpg', { versionId: 'v2', size: 42, storageClass: 'GLACIER', etag: '"abc"' }),
        row('a.jpg', { versionId: 'v1', isLatest: false }),
        row('plain.txt', { versionId: '', size: 0 }),
      ],
      rowsPerFile: 10,
      columns: ['Bucket', 'Key', 'VersionId', 'IsLatest', 'IsDeleteMarker', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass'],
    });
    const queueUrl = await newQueue();
    const fields = ['size', 'etag', 'lastModified', 'versionId', 'storageClass'] as const;
    await publishInventoryReport(written.manifest, aws.context(queueUrl, { messageFields: [...fields] }));
    const bodies = (await aws.drain(queueUrl)).sort();
    expect(bodies).toEqual([
      '{"bucket":"photos","key":"a.jpg","size":42,"etag":"abc","lastModified":"2026-11-27T10:00:00.000Z","versionId":"v2","storageClass":"GLACIER"}',
      '{"bucket":"photos","key":"plain.txt","size":0,"etag":"d41d8cd98f00b204e9800998ecf8427e","lastModified":"2026-11-27T10:00:00.000Z","versionId":"null","storageClass":"STANDARD"}',
    ]);
  });

  it('refuses at start a report without a column MESSAGE_FIELDS needs, naming it and the configuration', async () => {
    const manifest = await report([row('a.jpg')]);
    const queueUrl = await newQueue();
    const run = publishInventoryReport(manifest, aws.context(queueUrl, { messageFields: ['storageClass', 'versionId'] }));
    await expect(run).rejects.toThrow(
      /has no StorageClass column \(for MESSAGE_FIELDS storageClass\), VersionId column \(for MESSAGE_FIELDS versionId\): add it to the optional fields of inventory configuration "config-\d+" of bucket photos, and include all object versions/,
    );
    expect(await aws.drain(queueUrl)).toEqual([]);
  });

  it('publishes S3 event notifications with MESSAGE_FORMAT s3-event, which a handler written for S3 reads unchanged', async () => {
    const keys = ['with space.jpg', 'a+b.txt', '100%.txt', 'café/日本語.png', `${'k'.repeat(1_000)}.bin`];
    const lastModified = new Date('2026-11-27T10:00:00Z');
    const manifest = await report(keys.map((key, index) => row(key, { size: index, etag: `etag${index}`, lastModified })));
    const queueUrl = await newQueue();
    await publishInventoryReport(
      manifest,
      aws.context(queueUrl, { messageFormat: 's3-event', readFields: ['size', 'etag', 'lastModified'], region: 'eu-west-1' }),
    );
    const records = (await aws.drain(queueUrl)).map((body) => (JSON.parse(body) as S3Event).Records[0] as S3EventRecord);
    const handled = records.map((record) => ({
      key: decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')),
      size: record.s3.object.size,
      eTag: record.s3.object.eTag,
      bucket: record.s3.bucket.name,
      time: record.eventTime,
      region: record.awsRegion,
    }));
    expect(handled.sort((a, b) => a.size - b.size)).toEqual(
      keys.map((key, index) => ({
        key,
        size: index,
        eTag: `etag${index}`,
        bucket: SOURCE,
        time: lastModified.toISOString(),
        region: 'eu-west-1',
      })),
    );
  });

  it('refuses at start, naming MESSAGE_FORMAT s3-event, a report without the columns an S3 event needs', async () => {
    const manifest = await rawReport('Bucket, Key, Size', `"${SOURCE}","a.jpg","1"\n`);
    const run = publishInventoryReport(
      manifest,
      aws.context(await newQueue(), { messageFormat: 's3-event', readFields: ['size', 'etag', 'lastModified'] }),
    );
    await expect(run).rejects.toThrow(
      /has no ETag column \(for MESSAGE_FORMAT s3-event\), LastModifiedDate column \(for MESSAGE_FORMAT s3-event\): add it to the optional fields/,
    );
  });

  it('publishes only the objects inside the filters, counting the rest by filter', async () => {
    const rows = [
      row('standard.jpg', { storageClass: 'STANDARD', size: 10 }),
      row('empty.jpg', { storageClass: 'STANDARD', size: 0 }),
      row('glacier.jpg', { storageClass: 'GLACIER', size: 10 }),
      row('old.jpg', { storageClass: 'STANDARD_IA', size: 10, lastModified: new Date('2020-01-01T00:00:00Z') }),
    ];
    const written = await writeInventoryReport(aws.s3, {
      sourceBucket: SOURCE,
      destinationBucket: INVENTORY,
      prefix: 'reports',
      configId: 'filtered',
      rows,
      rowsPerFile: 4,
      columns: ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass'],
    });
    const queueUrl = await newQueue();
    const filter = { storageClassExclude: ['GLACIER'], minSize: 1, modifiedAfter: Date.parse('2025-01-01T00:00:00Z') };
    const summary = await publishInventoryReport(
      written.manifest,
      aws.context(queueUrl, { filter, readFields: ['storageClass', 'size', 'lastModified'] }),
    );
    expect(summary).toMatchObject({ rowsRead: 4, published: 1, skippedByReason: { storageClass: 1, size: 1, lastModified: 1 } });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(['standard.jpg']);
  });

  it("skips Intelligent-Tiering's archived objects by their tier, from the report's IntelligentTieringAccessTier column", async () => {
    const tiered = (key: string, accessTier: string) => row(key, { storageClass: 'INTELLIGENT_TIERING', accessTier });
    const written = await writeInventoryReport(aws.s3, {
      sourceBucket: SOURCE,
      destinationBucket: INVENTORY,
      prefix: 'reports',
      configId: 'tiers',
      rows: [tiered('hot.jpg', 'FREQUENT_ACCESS'), tiered('cold.jpg', 'ARCHIVE_ACCESS'), tiered('frozen.jpg', 'DEEP_ARCHIVE_ACCESS')],
      rowsPerFile: 3,
      columns: ['Bucket', 'Key', 'StorageClass', 'IntelligentTieringAccessTier'],
    });
    const queueUrl = await newQueue();
    const filter = { storageClassExclude: ['ARCHIVE_ACCESS', 'DEEP_ARCHIVE_ACCESS'] };
    const summary = await publishInventoryReport(
      written.manifest,
      aws.context(queueUrl, { filter, readFields: ['storageClass', 'accessTier'] }),
    );
    expect(summary).toMatchObject({ published: 1, skippedByReason: { storageClass: 2 } });
    expect(keysOf(await aws.drain(queueUrl))).toEqual(['hot.jpg']);
    const untiered = await report([row('a.jpg', { storageClass: 'INTELLIGENT_TIERING' })]);
    await expect(
      publishInventoryReport(untiered, aws.context(await newQueue(), { filter, readFields: ['storageClass', 'accessTier'] })),
    ).rejects.toThrow(/IntelligentTieringAccessTier column \(for STORAGE_CLASS_INCLUDE\/STORAGE_CLASS_EXCLUDE\)/);
  });

  it('refuses at start, naming the filter and the configuration, a report without a column a filter needs', async () => {
    const manifest = await report([row('a.jpg')]);
    const run = publishInventoryReport(
      manifest,
      aws.context(await newQueue(), { filter: { storageClassExclude: ['GLACIER'] }, readFields: ['storageClass'] }),
    );
    await expect(run).rejects.toThrow(
      /has no StorageClass column \(for STORAGE_CLASS_INCLUDE\/STORAGE_CLASS_EXCLUDE\): add it to the optional fields of inventory configuration "config-\d+" of bucket photos/,
    );
  });

  it('keeps one FIFO deduplication id per key, or per version when the version id is in the body', async () => {
    const keys = [
      { bucket: 'b', key: 'k', details: { versionId: 'v1' } },
      { bucket: 'b', key: 'k', details: { versionId: 'v2' } },
    ];
    const [first, second] = keys.map((object) => fifoFields(object, 1024));
    expect(first?.MessageDeduplicationId).toBe(second?.MessageDeduplicationId);
    const [v1, v2] = keys.map((object) => fifoFields(object, 1024, true));
    expect(v1?.MessageDeduplicationId).not.toBe(v2?.MessageDeduplicationId);
    expect(v1?.MessageGroupId).toBe(first?.MessageGroupId);
  });

  it('fails with a clear error when the manifest does not exist', async () => {
    const run = publishInventoryReport({ bucket: INVENTORY, key: 'missing/manifest.json' }, aws.context(await newQueue()));
    await expect(run).rejects.toThrow(/manifest s3:\/\/inventory-reports\/missing\/manifest.json could not be read: NoSuchKey/);
  });

  it('lets a FIFO queue drop the second delivery of the same report', async () => {
    const keys = hexKeys(300);
    const queueUrl = await newQueue(true);
    const manifest = await report(
      keys.map((key) => row(key)),
      { files: 3 },
    );
    await publishInventoryReport(manifest, aws.context(queueUrl));
    const again = await publishInventoryReport(manifest, aws.context(queueUrl));
    expect(again.published).toBe(300);
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('re-sends entries that fail transiently until every key is published once', async () => {
    const keys = hexKeys(2_000);
    const queueUrl = await newQueue();
    const manifest = await report(
      keys.map((key) => row(key)),
      { files: 2 },
    );
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      failEntry: () => (Math.random() < 0.1 ? { code: 'InternalError', senderFault: false } : undefined),
    });
    const summary = await publishInventoryReport(manifest, aws.context(queueUrl, {}, proxy.endpoint));
    expect(proxy.counts.entriesFailed).toBeGreaterThan(100);
    expect(summary).toMatchObject({ published: 2_000, failed: 0, retries: proxy.counts.entriesFailed });
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('retries throttled and failed requests', async () => {
    const keys = hexKeys(500);
    const queueUrl = await newQueue();
    const manifest = await report(keys.map((key) => row(key)));
    const statuses = [400, 500, 503];
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      failRequest: () => (Math.random() < 0.3 ? statuses[Math.floor(Math.random() * statuses.length)] : undefined),
    });
    const summary = await publishInventoryReport(manifest, aws.context(queueUrl, {}, proxy.endpoint));
    expect(proxy.counts.requestsFailed).toBeGreaterThan(0);
    expect(summary).toMatchObject({ published: 500, failed: 0 });
    expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
  });

  it('fails the run and names the keys that could not be published once retries run out', async () => {
    const keys = hexKeys(100);
    const doomed = new Set(keys.slice(0, 3));
    const queueUrl = await newQueue();
    const manifest = await report(keys.map((key) => row(key)));
    proxy = await startEmulatorProxy(aws.emulator.endpoint, {
      failEntry: (entry) =>
        doomed.has(JSON.parse(String(entry.MessageBody)).key) ? { code: 'ServiceUnavailable', senderFault: false } : undefined,
    });
    const run = publishInventoryReport(manifest, aws.context(queueUrl, { maxAttempts: 3 }, proxy.endpoint));
    const error = (await run.catch((caught: unknown) => caught)) as RunFailedError<{
      failed: number;
      published: number;
      failedKeys: Array<{ key: string }>;
    }>;
    expect(error).toBeInstanceOf(RunFailedError);
    expect(error.message).toMatch(/failed after publishing 97 keys: 3 keys were not published: /);
    for (const key of doomed) expect(error.message).toContain(key);
    expect(error.message).toContain('ServiceUnavailable: injected fault (gave up after 3 attempts)');
    expect(error.summary).toMatchObject({ published: 97, failed: 3 });
    expect(error.summary.failedKeys.map((failed) => failed.key).sort()).toEqual([...doomed].sort());
    expect(await aws.drain(queueUrl)).toHaveLength(97);
  });

  describe("a report publishes only its own bucket's keys", () => {
    it('never publishes a row naming another bucket: counted as otherBucket, named, and the run fails', async () => {
      const manifest = await rawReport(
        'Bucket, Key',
        `"${SOURCE}","a.jpg"\n"payroll","salaries.csv"\n"${SOURCE}","b.jpg"\n"payroll","x"\n`,
      );
      const queueUrl = await newQueue();
      const error = (await publishInventoryReport(manifest, aws.context(queueUrl)).catch(
        (caught: unknown) => caught,
      )) as RunFailedError<InventorySummary>;
      expect(error).toBeInstanceOf(RunFailedError);
      expect(error.message).toContain('2 rows named another bucket than the report\'s source bucket ("payroll"), and were not published');
      expect(error.summary).toMatchObject({ rowsRead: 4, published: 2, skippedByReason: { otherBucket: 2 }, otherBuckets: ['payroll'] });
      expect(keysOf(await aws.drain(queueUrl))).toEqual(['a.jpg', 'b.jpg']);
    });

    it('refuses, before reading a row, a manifest whose sourceBucket is not the bucket its path names', async () => {
      const manifest = await rawReport('Bucket, Key', '"payroll","salaries.csv"\n', undefined, { sourceBucket: 'payroll' });
      const queueUrl = await newQueue();
      await expect(publishInventoryReport(manifest, aws.context(queueUrl))).rejects.toThrow(
        /field "sourceBucket" names "payroll", but the report lies under "photos": .*not one S3 wrote/,
      );
      expect(await aws.drain(queueUrl)).toEqual([]);
    });

    it("refuses a manifest naming a data file outside its configuration's data folder", async () => {
      for (const dataKey of [(base: string) => `${base}/elsewhere/part-0.csv.gz`, () => 'raw/other-source/daily/data/part-0.csv.gz']) {
        const manifest = await rawReport('Bucket, Key', `"${SOURCE}","a.jpg"\n`, undefined, { dataKey });
        await expect(publishInventoryReport(manifest, aws.context(await newQueue()))).rejects.toThrow(
          /data file "raw\/.+part-0\.csv\.gz" lies outside the report's folder raw\/photos\/raw-\d+\/data\//,
        );
      }
    });
  });

  describe('a continuation after failed sends', () => {
    /** The summary of a run that failed; its counts add up to the rows it read. */
    async function failedRun(run: Promise<InventorySummary>): Promise<InventorySummary> {
      const error = (await run.catch((caught: unknown) => caught)) as RunFailedError<InventorySummary>;
      expect(error).toBeInstanceOf(RunFailedError);
      const { summary } = error;
      expect(summary.done).toBe(false);
      expect(summary.published + summary.skipped + summary.failed + (summary.unsent ?? 0)).toBe(summary.rowsRead);
      return summary;
    }

    it('after a queue that refuses every send, starts at the first row of the first file, and publishes every key once', async () => {
      const keys = hexKeys(800);
      const manifest = await report(
        keys.map((key) => row(key)),
        { files: 4 },
      );
      const missing = `${aws.emulator.endpoint}/000000000000/no-such-queue`;
      const stopped = await failedRun(publishInventoryReport(manifest, aws.context(missing)));
      expect(stopped).toMatchObject({ published: 0, continuation: { file: 0, startRow: 0 } });
      expect(stopped.unsent).toBeGreaterThan(0);

      const queueUrl = await newQueue(true);
      const resumed = await publishInventoryReport(manifest, aws.context(queueUrl), undefined, { continuation: stopped.continuation });
      expect(resumed).toMatchObject({ done: true, published: 800, failed: 0 });
      expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
    });

    it('after rows of the first file failed for good, starts before the first of them, not at the file the run reached', async () => {
      const keys = hexKeys(600);
      const manifest = await report(
        keys.map((key) => row(key)),
        { files: 3 },
      );
      const doomed = new Set([keys[50], keys[120], keys[450]]);
      proxy = await startEmulatorProxy(aws.emulator.endpoint, {
        failEntry: (entry) =>
          doomed.has(JSON.parse(String(entry.MessageBody)).key) ? { code: 'InvalidParameterValue', senderFault: true } : undefined,
      });
      const queueUrl = await newQueue(true);
      const stopped = await failedRun(publishInventoryReport(manifest, aws.context(queueUrl, {}, proxy.endpoint)));
      expect(stopped).toMatchObject({ failed: 3, published: 597, continuation: { file: 0, startRow: 50 } });
      expect(stopped.files.map((file) => [file.file, file.done])).toEqual([
        [0, false],
        [1, true],
        [2, false],
      ]);

      const resumed = await publishInventoryReport(manifest, aws.context(queueUrl), undefined, { continuation: stopped.continuation });
      expect(resumed).toMatchObject({ done: true, failed: 0, rowsRead: 550 });
      // Rows after the first failed one were sent again: the FIFO queue drops those repeats.
      expect(keysOf(await aws.drain(queueUrl))).toEqual([...keys].sort());
    });
  });

  it('stops at once when the queue does not exist', async () => {
    const manifest = await report(hexKeys(50).map((key) => row(key)));
    const missingQueue = `${aws.emulator.endpoint}/000000000000/no-such-queue`;
    const run = publishInventoryReport(manifest, aws.context(missingQueue));
    await expect(run).rejects.toThrow(/SendMessageBatch to .+no-such-queue failed: .*QueueDoesNotExist/);
    await expect(run).rejects.toThrow(/50 keys were not published/);
  });
});

describe('BatchPublisher', () => {
  it('sends at most 10 entries and at most the byte limit per call', async () => {
    const queueUrl = await newQueue();
    proxy = await startEmulatorProxy(aws.emulator.endpoint);
    const { sender } = aws.context(queueUrl, {}, proxy.endpoint);
    const stats = new RunStats();
    const publisher = new BatchPublisher(sender, {
      queueUrl,
      concurrency: 4,
      maxAttempts: 1,
      fifoMessageGroups: 1,
      maxBatchBytes: 2_000,
      stats,
      log: silentLog,
    });
    const keys = Array.from({ length: 95 }, (_, index) => `${String(index).padStart(3, '0')}-${'k'.repeat(40 + (index % 7) * 60)}`);
    for (const key of keys) await publisher.publish({ bucket: SOURCE, key });
    await publisher.flush();
    expect(stats.published).toBe(95);
    const { batches } = proxy.counts;
    expect(Math.max(...batches.map((batch) => batch.entries))).toBeLessThanOrEqual(10);
    expect(Math.max(...batches.map((batch) => batch.bodyBytes))).toBeLessThanOrEqual(2_000);
    expect(batches.some((batch) => batch.bodyBytes > 1_500)).toBe(true);
    expect(batches.reduce((total, batch) => total + batch.entries, 0)).toBe(95);
    expect(keysOf(await aws.drain(queueUrl))).toEqual(keys);
  });

  it('refuses a key over the message limit with an error that shows only its beginning', async () => {
    // No report holds such a key (S3 keys are at most 1,024 bytes; the CSV reader refuses longer rows): a source of its own does.
    const huge = `${'h'.repeat(1_100_000)}.jpg`;
    const queueUrl = await newQueue();
    const stats = new RunStats();
    const keys = async function* () {
      yield [
        { bucket: SOURCE, key: 'small.jpg' },
        { bucket: SOURCE, key: huge },
      ];
    };
    const run = publishAll(keys(), aws.context(queueUrl), stats).then(
      () => requireAllPublished('test source', stats.toJSON()),
      (cause: unknown) => requireAllPublished('test source', stats.toJSON(), cause),
    );
    const error = (await run.catch((failure: unknown) => failure)) as RunFailedError<{
      failedKeys: Array<{ key: string }>;
      published: number;
    }>;
    expect(error).toBeInstanceOf(RunFailedError);
    expect(error.message).toMatch(
      /1 keys were not published: "h{200}… \(1099804 more characters\)" \(message is \d+ bytes, over the 1048576-byte limit\)/,
    );
    expect(error.message.length).toBeLessThan(1_000);
    expect(error.summary.published).toBe(1);
    expect(JSON.stringify(error.summary).length).toBeLessThan(2_000);
  });

  it('fills batches of 10 when messages are small', async () => {
    const queueUrl = await newQueue();
    proxy = await startEmulatorProxy(aws.emulator.endpoint);
    await publishInventoryReport(await report(hexKeys(95).map((key) => row(key))), aws.context(queueUrl, {}, proxy.endpoint));
    expect(proxy.counts.batches.map((batch) => batch.entries).sort((a, b) => b - a)).toEqual([...Array(9).fill(10), 5]);
  });
});

/** A report written by hand, not by our writer: one gzip data file of the given CSV text. */
/** A report of hand-written CSV in S3's layout; `forged` changes what S3 would never write. */
async function rawReport(
  fileSchema: string,
  csv: string,
  md5?: string,
  forged: { sourceBucket?: string; dataKey?: (base: string) => string } = {},
): Promise<S3Location> {
  const data = gzipSync(csv);
  const base = `raw/${SOURCE}/raw-${(queueCount += 1)}`;
  const dataKey = forged.dataKey?.(base) ?? `${base}/data/part-0.csv.gz`;
  await putObject(aws.s3, INVENTORY, dataKey, data);
  const manifestKey = `${base}/2026-11-28T00-00Z/manifest.json`;
  const manifest = {
    sourceBucket: forged.sourceBucket ?? SOURCE,
    destinationBucket: `arn:aws:s3:::${INVENTORY}`,
    version: '2016-11-30',
    creationTimestamp: '1795838400000',
    fileFormat: 'CSV',
    fileSchema,
    files: [{ key: dataKey, size: data.length, MD5checksum: md5 ?? createHash('md5').update(data).digest('hex') }],
  };
  await putObject(aws.s3, INVENTORY, manifestKey, JSON.stringify(manifest));
  return { bucket: INVENTORY, key: manifestKey };
}
