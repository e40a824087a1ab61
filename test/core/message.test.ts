import type { S3Event, S3EventRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { fifoFields, messageBody, s3EventBody } from '../../lib/core/message.ts';

describe('messageBody', () => {
  it('is exactly {"bucket","key"}', () => {
    expect(messageBody({ bucket: 'photos', key: 'a b/ü.jpg' })).toBe('{"bucket":"photos","key":"a b/ü.jpg"}');
  });

  it('escapes the characters SQS rejects and keeps the JSON value', () => {
    const key = 'odd\uFFFF\u0001"\\.bin';
    const body = messageBody({ bucket: 'b', key });
    expect(body).not.toMatch(/[\uFFFE\uFFFF\u0000-\u0008]/);
    expect(JSON.parse(body)).toEqual({ bucket: 'b', key });
  });
});

describe('fifoFields', () => {
  const object = { bucket: 'photos', key: 'abc.jpg' };

  it('deduplicates on the SHA-256 of bucket/key', () => {
    const digest = createHash('sha256').update('photos/abc.jpg').digest('hex');
    expect(fifoFields(object, 1024).MessageDeduplicationId).toBe(digest);
  });

  it('keeps everything in one group when asked', () => {
    expect(fifoFields(object, 1).MessageGroupId).toBe('objects-0');
  });

  it('spreads keys over the configured number of groups, the same key always in the same group', () => {
    const groups = new Set<string>();
    for (let index = 0; index < 5_000; index += 1) groups.add(fifoFields({ bucket: 'b', key: `k${index}` }, 64).MessageGroupId);
    expect(groups.size).toBe(64);
    expect(fifoFields(object, 64)).toEqual(fifoFields(object, 64));
    for (const group of groups) expect(group.length).toBeLessThanOrEqual(128);
  });
});

describe('s3EventBody', () => {
  /** What a function written for S3's notifications does with a record's key. */
  const keyOf = (record: S3EventRecord) => decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
  const AWKWARD = [
    'with space.jpg',
    'a+b=c.txt',
    '100% done.txt',
    'café/日本語/😀.png',
    '\uE000private',
    `${'ü'.repeat(500)}`,
    'odd\uFFFF.bin',
  ];

  it('is an S3 event notification whose key a handler written for S3 decodes back, awkward or 1,000 bytes long', () => {
    for (const key of AWKWARD) {
      const details = { size: 7, etag: 'e1', lastModified: '2026-11-28T10:00:00.000Z' };
      const event = JSON.parse(s3EventBody({ bucket: 'photos', key, details }, 'eu-west-1')) as S3Event;
      const [record] = event.Records;
      expect(event.Records).toHaveLength(1);
      expect(record).toMatchObject({
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'eu-west-1',
        eventTime: '2026-11-28T10:00:00.000Z',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: 'photos', arn: 'arn:aws:s3:::photos' }, object: { size: 7, eTag: 'e1' } },
      });
      expect(keyOf(record as S3EventRecord)).toBe(key);
    }
    expect(Buffer.byteLength('ü'.repeat(500))).toBe(1_000);
  });

  it('names a version, but not the "null" of an object written without versioning, and orders a key\'s events by time', () => {
    const body = (versionId: string, lastModified: string) =>
      (JSON.parse(s3EventBody({ bucket: 'b', key: 'k', details: { versionId, lastModified } }, 'us-east-1')) as S3Event).Records[0]?.s3
        .object;
    expect(body('v1', '2026-01-01T00:00:00.000Z')).toMatchObject({ versionId: 'v1' });
    expect(body('null', '2026-01-01T00:00:00.000Z')).not.toHaveProperty('versionId');
    const earlier = body('v1', '2026-01-01T00:00:00.000Z')?.sequencer ?? '';
    const later = body('v2', '2026-01-01T00:00:01.000Z')?.sequencer ?? '';
    expect(earlier.length).toBe(later.length);
    expect(later > earlier).toBe(true);
  });

  it("stays far below SQS's 256 KiB for the longest key, every byte of it escaped", () => {
    const key = '\u0001'.repeat(1_024);
    expect(Buffer.byteLength(s3EventBody({ bucket: 'b'.repeat(63), key }, 'ap-southeast-2'))).toBeLessThan(8 * 1024);
  });
});
