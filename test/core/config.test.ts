import { describe, expect, it } from 'vitest';
import { DEFAULTS, isFifoQueue, loadConfig, loadWorkerTuning } from '../../lib/core/config.ts';
import { ConfigError } from '../../lib/core/errors.ts';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/objects.fifo';

describe('loadConfig', () => {
  it('applies defaults when only the queue is set', () => {
    const { checkpointIntervalMs, leaseMs, shardRows, workerConcurrency, ...pipelineDefaults } = DEFAULTS;
    expect(loadConfig({ QUEUE_URL })).toEqual({
      queueUrl: QUEUE_URL,
      ...pipelineDefaults,
      messageFields: [],
      readFields: [],
      filter: {},
      dryRun: false,
    });
    expect(loadWorkerTuning({})).toEqual({ checkpointIntervalMs, leaseMs, shardRows });
    expect(loadConfig({ QUEUE_URL, SQS_CLIENT: 'sdk' }).sqsClient).toBe('sdk');
  });

  it('makes every message an S3 event with MESSAGE_FORMAT s3-event, reading what the event tells of each object', () => {
    expect(loadConfig({ QUEUE_URL, MESSAGE_FORMAT: 's3-event', MESSAGE_FIELDS: 'versionId', AWS_REGION: 'eu-west-1' })).toMatchObject({
      messageFormat: 's3-event',
      messageFields: ['versionId'],
      readFields: ['versionId', 'size', 'etag', 'lastModified'],
      region: 'eu-west-1',
    });
    expect(() => loadConfig({ QUEUE_URL, MESSAGE_FORMAT: 's3' })).toThrow('MESSAGE_FORMAT "s3" must be plain or s3-event');
    expect(() => loadConfig({ QUEUE_URL, MESSAGE_FORMAT: 's3-event', MESSAGE_FIELDS: 'storageClass' })).toThrow(
      'MESSAGE_FIELDS storageClass: an S3 event notification (MESSAGE_FORMAT s3-event) has no storage class',
    );
  });

  it('reads every setting', () => {
    const config = loadConfig({
      QUEUE_URL,
      KEY_PATTERN: '^[0-9a-f]{64}\\.jpg$',
      CONCURRENCY: '64',
      FIFO_MESSAGE_GROUPS: '1',
      PUBLISH_MAX_ATTEMPTS: '3',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      REQUEST_TIMEOUT_MS: '5000',
    });
    expect(config).toMatchObject({
      concurrency: 64,
      fifoMessageGroups: 1,
      maxAttempts: 3,
      endpointUrl: 'http://127.0.0.1:4566',
      requestTimeoutMs: 5_000,
    });
    expect(config.keyPattern?.test(`${'a'.repeat(64)}.jpg`)).toBe(true);
    expect(config.keyPattern?.test(`${'a'.repeat(64)}.png`)).toBe(false);
  });

  it.each([
    [{}, /QUEUE_URL is required/],
    [{ QUEUE_URL: 'objects' }, /QUEUE_URL "objects" is not a valid URL/],
    [{ QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/' }, /is not a queue URL/],
    [{ QUEUE_URL, CONCURRENCY: '0' }, /CONCURRENCY "0" must be a whole number from 1 to 512/],
    [{ QUEUE_URL, CONCURRENCY: '2.5' }, /CONCURRENCY "2.5"/],
    [{ QUEUE_URL, FIFO_MESSAGE_GROUPS: 'many' }, /FIFO_MESSAGE_GROUPS "many"/],
    [{ QUEUE_URL, PUBLISH_MAX_ATTEMPTS: '0' }, /PUBLISH_MAX_ATTEMPTS "0"/],
    [{ QUEUE_URL, KEY_PATTERN: '([a-f' }, /KEY_PATTERN "\(\[a-f" is not a valid regular expression/],
    [{ QUEUE_URL, AWS_ENDPOINT_URL: 'ftp://host' }, /AWS_ENDPOINT_URL "ftp:\/\/host" must be an http/],
    [{ QUEUE_URL, REQUEST_TIMEOUT_MS: '50' }, /REQUEST_TIMEOUT_MS "50" must be a whole number from 100 to 900000/],
    [
      { QUEUE_URL, MESSAGE_FIELDS: 'size,colour' },
      /MESSAGE_FIELDS "size,colour": "colour" is not one of size, etag, lastModified, versionId, storageClass/,
    ],
    [{ QUEUE_URL, MESSAGE_FIELDS: 'size,size' }, /MESSAGE_FIELDS "size,size" names a field twice/],
    [{ QUEUE_URL, PUBLISH_MODE: 'some' }, /PUBLISH_MODE "some" must be all or changed/],
    [{ QUEUE_URL, CHANGED_MARGIN_HOURS: '-1' }, /CHANGED_MARGIN_HOURS "-1"/],
    [{ QUEUE_URL, SQS_CLIENT: 'fast' }, /SQS_CLIENT "fast" must be lean or sdk/],
  ])('rejects %j with a clear error', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads what is published: all by default with bucket and key only, or changed with fields', () => {
    expect(loadConfig({ QUEUE_URL })).toMatchObject({ publishMode: 'all', messageFields: [], changedMarginHours: 24 });
    expect(
      loadConfig({ QUEUE_URL, PUBLISH_MODE: 'changed', MESSAGE_FIELDS: ' size , lastModified ', CHANGED_MARGIN_HOURS: '6' }),
    ).toMatchObject({
      publishMode: 'changed',
      messageFields: ['size', 'lastModified'],
      changedMarginHours: 6,
    });
  });

  it('drops a trailing "/" from the queue URL, so that a FIFO queue is still seen as FIFO', () => {
    const { queueUrl } = loadConfig({ QUEUE_URL: `${QUEUE_URL}//` });
    expect(queueUrl).toBe(QUEUE_URL);
    expect(isFifoQueue(queueUrl)).toBe(true);
  });

  it('tells FIFO queues by their suffix', () => {
    expect(isFifoQueue(QUEUE_URL)).toBe(true);
    expect(isFifoQueue('https://sqs.eu-west-1.amazonaws.com/123456789012/objects')).toBe(false);
  });
});

describe('loadWorkerTuning', () => {
  it('splits data files into shards of SHARD_ROWS rows, at least 1,000', () => {
    expect(loadWorkerTuning({}).shardRows).toBe(DEFAULTS.shardRows);
    expect(loadWorkerTuning({ SHARD_ROWS: '25000' }).shardRows).toBe(25_000);
    expect(() => loadWorkerTuning({ SHARD_ROWS: '10' })).toThrow('SHARD_ROWS "10" must be a whole number from 1000 to 1000000000');
  });
});
