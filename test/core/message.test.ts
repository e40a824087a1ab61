import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { fifoFields, messageBody } from '../../lib/core/message.ts';

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
