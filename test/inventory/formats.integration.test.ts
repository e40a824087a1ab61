import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MessageField, ObjectRef, S3Location } from '../../lib/core/types.ts';
import { RunStats } from '../../lib/core/run-stats.ts';
import { dataFileFormat } from '../../lib/inventory/formats.ts';
import { publishInventoryReport } from '../../lib/inventory/job.ts';
import type { InventoryFormat } from '../../lib/inventory/manifest.ts';
import { columnarSchema } from '../../lib/local/columnar-report.ts';
import { type EmulatorProxy, startEmulatorProxy } from '../../lib/local/proxy.ts';
import { type ReportColumn, writeInventoryReport } from '../../lib/local/report-writer.ts';
import { hexKeys, useEmulator } from '../support/emulator.ts';
import { createWorkQueues, runReport, type WorkQueues } from '../support/inventory-run.ts';
import { runCli } from '../support/run-cli.ts';

interface FixtureRow {
  key: string;
  versionId: string | null;
  isLatest: boolean;
  isDeleteMarker: boolean;
  size: number | null;
  lastModified: string;
  etag: string | null;
  storageClass: string | null;
}
interface Expected {
  versioned: { rows: FixtureRow[]; current: Array<Record<string, unknown> & { key: string }>; notLatest: number; deleteMarker: number };
  blocks: { count: number; parquetRowGroups: number[]; orcStripes: number };
}

const FIXTURES = new URL('../fixtures/columnar/', import.meta.url);
const EXTENSIONS: Record<InventoryFormat, string> = { CSV: 'csv.gz', Parquet: 'parquet', ORC: 'orc' };
const COLUMNS: ReportColumn[] = [
  'Bucket',
  'Key',
  'VersionId',
  'IsLatest',
  'IsDeleteMarker',
  'Size',
  'LastModifiedDate',
  'ETag',
  'StorageClass',
];
const FIELDS: MessageField[] = ['size', 'etag', 'lastModified', 'versionId', 'storageClass'];
const BUCKET = 'formats-inventory';
const FORMATS: InventoryFormat[] = ['CSV', 'Parquet', 'ORC'];

const aws = useEmulator();
let expected: Expected;
let queues: WorkQueues;
let proxy: EmulatorProxy | undefined;
let reports = 0;

beforeAll(async () => {
  expected = JSON.parse(await readFile(new URL('expected.json', FIXTURES), 'utf8')) as Expected;
  await aws.createBucket(BUCKET);
  queues = await createWorkQueues(aws, 'formats-work');
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/** A report of data files written by pyarrow, under a configuration of its own, as S3 lays one out. */
async function uploadReport(format: InventoryFormat, bodies: Buffer[], sourceBucket = 'fixture-photos'): Promise<S3Location> {
  reports += 1;
  const base = `inventory/${sourceBucket}/config-${reports}`;
  const files = [];
  for (const [index, body] of bodies.entries()) {
    const key = `${base}/data/${index}.${EXTENSIONS[format]}`;
    await aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    files.push({ key, size: body.length, MD5checksum: createHash('md5').update(body).digest('hex') });
  }
  const manifest = {
    sourceBucket,
    destinationBucket: `arn:aws:s3:::${BUCKET}`,
    version: '2016-11-30',
    creationTimestamp: '1795827600000',
    fileFormat: format,
    fileSchema: format === 'CSV' ? COLUMNS.join(', ') : columnarSchema(format, COLUMNS),
    files,
  };
  const location = { bucket: BUCKET, key: `${base}/2026-11-28T01-00Z/manifest.json` };
  await aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: location.key, Body: JSON.stringify(manifest) }));
  return location;
}

const fixture = (name: string) => readFile(new URL(name, FIXTURES));

/** The versioned report: pyarrow's Parquet and ORC files, and the same rows as CSV by the project's writer. */
async function versionedReport(format: InventoryFormat): Promise<S3Location> {
  if (format !== 'CSV') return uploadReport(format, [await fixture(`versioned.${EXTENSIONS[format]}`)]);
  reports += 1;
  const written = await writeInventoryReport(aws.s3, {
    sourceBucket: 'fixture-photos',
    destinationBucket: BUCKET,
    prefix: 'inventory',
    configId: `config-${reports}`,
    columns: COLUMNS,
    rows: expected.versioned.rows.map((row) => ({
      key: row.key,
      size: row.size ?? 0,
      lastModified: new Date(row.lastModified),
      etag: row.etag ?? '',
      ...(row.versionId !== null && { versionId: row.versionId }),
      isLatest: row.isLatest,
      isDeleteMarker: row.isDeleteMarker,
      ...(row.storageClass !== null && { storageClass: row.storageClass }),
    })),
    rowsPerFile: 1_000,
  });
  return written.manifest;
}

const uri = (location: S3Location) => `s3://${location.bucket}/${location.key}`;
const bodiesOf = (bodies: string[]) => bodies.map((body) => JSON.parse(body) as ObjectRef & Record<string, unknown>);

describe.each(FORMATS)('%s reports', (format) => {
  it('npm run cli -- inventory publishes each current key once, keys as S3 stores them, the fields with the same types', async () => {
    const queueUrl = await aws.createQueue(`formats-cli-${format}`);
    const result = await runCli([
      'inventory',
      uri(await versionedReport(format)),
      queueUrl,
      '--message-fields',
      FIELDS.join(','),
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { versioned } = expected;
    expect(result.json()).toMatchObject({
      rowsRead: versioned.rows.length,
      published: versioned.current.length,
      skippedByReason: { notLatest: versioned.notLatest, deleteMarker: versioned.deleteMarker, malformedKey: 0 },
      failed: 0,
    });
    const messages = bodiesOf(await aws.drain(queueUrl)).sort((a, b) => a.key.localeCompare(b.key));
    const wanted = versioned.current.map((row) => ({ bucket: 'fixture-photos', ...row })).sort((a, b) => a.key.localeCompare(b.key));
    expect(messages).toEqual(wanted);
    expect(messages.some((message) => Buffer.byteLength(message.key) === 1_000)).toBe(true);
  });

  it('changed mode: only the objects modified at or after the baseline, the others counted as unchanged', async () => {
    const queueUrl = await aws.createQueue(`formats-changed-${format}`);
    const changedSince = new Date('2026-11-20T10:30:15.123Z');
    const summary = await publishInventoryReport(await versionedReport(format), aws.context(queueUrl), undefined, { changedSince });
    const newer = expected.versioned.current.filter((row) => Date.parse(row.lastModified as string) >= changedSince.getTime());
    expect(newer.length).toBeGreaterThan(0);
    expect(summary).toMatchObject({
      published: newer.length,
      skippedByReason: { unchanged: expected.versioned.current.length - newer.length },
    });
    expect(
      bodiesOf(await aws.drain(queueUrl))
        .map((message) => message.key)
        .sort(),
    ).toEqual(newer.map((row) => row.key).sort());
  });

  it('refuses a continuation that starts past the end of a data file, naming its rows; one at its end finishes', async () => {
    const manifest = await versionedReport(format);
    const rows = expected.versioned.rows.length;
    const continuation = (startRow: number) => ({ continuation: { manifest: uri(manifest), file: 0, startRow } });
    const queueUrl = await aws.createQueue(`formats-past-end-${format}`);
    await expect(publishInventoryReport(manifest, aws.context(queueUrl), undefined, continuation(rows + 1))).rejects.toThrow(
      `the continuation's "startRow" ${rows + 1} is past the end of data file 0, which has ${rows} rows`,
    );
    expect(await publishInventoryReport(manifest, aws.context(queueUrl), undefined, continuation(rows))).toMatchObject({
      done: true,
      published: 0,
    });
    expect(await aws.drain(queueUrl)).toEqual([]);
  });

  it('the workers publish a file split into shards, with continuations, each key once', async () => {
    const keys = hexKeys(expected.blocks.count);
    const manifest =
      format === 'CSV'
        ? (
            await writeInventoryReport(aws.s3, {
              sourceBucket: 'blocks-source',
              destinationBucket: BUCKET,
              prefix: 'inventory',
              configId: `blocks-${format}`,
              rows: keys.map((key, index) => ({ key, size: index, lastModified: new Date(), etag: 'e' })),
              rowsPerFile: keys.length,
            })
          ).manifest
        : await uploadReport(format, [await fixture(`blocks.${EXTENSIONS[format]}`)], 'blocks-source');
    const target = await aws.createQueue(`formats-shards-${format}`);
    // Every call takes 2 ms more, so a worker stops after 40 ms with most of its shard left.
    proxy = await startEmulatorProxy(aws.emulator.endpoint, { latencyMs: 2 });
    const { report } = await runReport(aws, queues, manifest, target, {
      workers: 3,
      budgetMs: 40,
      endpoint: proxy.endpoint,
      shardRows: 1_000,
    });
    expect(report).toMatchObject({
      status: 'complete',
      failedParts: [],
      totals: { rowsRead: keys.length, published: keys.length, failed: 0 },
    });
    expect(report.totals.continuations).toBeGreaterThan(0);
    const shards = report.partResults[0]?.shards ?? [];
    expect(shards.length).toBeGreaterThan(1);
    if (format === 'Parquet') {
      // Two row groups of 500 a shard: each one starts at its own first byte.
      expect(shards.map((shard) => [shard.firstRow, shard.lastRow])).toEqual([
        [0, 1_000],
        [1_000, 2_000],
        [2_000, undefined],
      ]);
    }
    const counts = new Map<string, number>();
    for (const { key } of bodiesOf(await aws.drain(target))) counts.set(key, (counts.get(key) ?? 0) + 1);
    expect(counts.size).toBe(keys.length);
    expect([...new Set(counts.values())]).toEqual([1]);
  });
});

it('reads a Parquet file compressed with GZIP as it reads one compressed with Snappy', async () => {
  const queueUrl = await aws.createQueue('formats-gzip-parquet');
  const summary = await publishInventoryReport(await uploadReport('Parquet', [await fixture('gzip.parquet')]), aws.context(queueUrl));
  expect(summary).toMatchObject({ rowsRead: expected.versioned.rows.length, published: expected.versioned.current.length });
  expect(
    bodiesOf(await aws.drain(queueUrl))
      .map((message) => message.key)
      .sort(),
  ).toEqual(expected.versioned.current.map((row) => row.key).sort());
});

describe.each([
  ['ORC', 'snappy.orc', 'is compressed with SNAPPY, which this reader does not decode'],
  ['Parquet', 'huge-size.parquet', 'has a size over 2^53 bytes'],
  ['ORC', 'huge-size.orc', 'column "size" (stripe 0) holds an integer over 2^53'],
] as const)('a %s file the reader does not decode (%s)', (format, name, feature) => {
  it('fails the run naming the file and the feature, and publishes nothing', async () => {
    const queueUrl = await aws.createQueue(`formats-unsupported-${name.replace('.', '-')}`);
    const manifest = await uploadReport(format, [await fixture(name)]);
    const result = await runCli(['inventory', uri(manifest), queueUrl, '--message-fields', 'size', '--json']);
    expect(result.code).toBe(1);
    expect(result.json<{ error: string }>().error).toMatch(
      new RegExp(`data file s3://${BUCKET}/\\S+\\.${EXTENSIONS[format]}.*${feature.replace(/[()^.]/g, '\\$&')}`),
    );
    expect(await aws.drain(queueUrl)).toEqual([]);
  });
});

describe.each(['Parquet', 'ORC'] as const)('a %s file replaced after its integrity pass', (format) => {
  it('fails by name: its ranged reads are pinned to the ETag that was checked', async () => {
    const body = await fixture(`versioned.${EXTENSIONS[format]}`);
    const manifest = await uploadReport(format, [body]);
    const key = manifest.key.replace(/\d{4}-.*$/, `data/0.${EXTENSIONS[format]}`);
    const dataFile = {
      bucket: BUCKET,
      sourceBucket: 'fixture-photos',
      file: { key, size: body.length, md5: '' },
      columns: { bucket: 0, key: 1, details: {}, count: 2 },
    };
    const options = { startRow: 0, etag: '"the-etag-checked-before"', stats: new RunStats(), selection: { fields: [] } };
    await expect(dataFileFormat(format).open(aws.s3, dataFile, options).next()).rejects.toThrow(
      `data file s3://${BUCKET}/${key} changed while it was being read`,
    );
  });
});

describe.each(['Parquet', 'ORC'] as const)('a broken %s file', (format) => {
  it('fails its checksum when truncated, and its footer when the bytes are as the manifest says but corrupt; nothing is published', async () => {
    const whole = await fixture(`versioned.${EXTENSIONS[format]}`);
    const truncated = await uploadReport(format, [whole]);
    // The manifest promises the whole file; the bucket holds less of it.
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: truncated.key.replace(/\d{4}-.*$/, `data/0.${EXTENSIONS[format]}`),
        Body: whole.subarray(0, 1_000),
      }),
    );
    const corrupt = Buffer.from(whole);
    corrupt.fill(0x7f, whole.length - 60, whole.length - 20);
    for (const [manifest, message] of [
      [truncated, /is 1000 bytes; the manifest says \d+/],
      [await uploadReport(format, [corrupt]), /data file s3:\/\/\S+ (is not a readable Parquet file|is not an ORC file|.*footer)/],
    ] as const) {
      const queueUrl = await aws.createQueue(`formats-broken-${format}-${reports}`);
      const result = await runCli(['inventory', uri(manifest), queueUrl, '--json']);
      expect(result.code).toBe(1);
      expect(result.json<{ error: string; published: number }>()).toMatchObject({ published: 0, error: expect.stringMatching(message) });
      expect(await aws.drain(queueUrl)).toEqual([]);
    }
  });
});
