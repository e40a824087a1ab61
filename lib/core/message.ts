import { createHash } from 'node:crypto';
import type { ObjectRef } from './types.ts';

// SQS accepts #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF. JSON.stringify already
// escapes control characters and lone surrogates; U+FFFE and U+FFFF are legal in S3 keys, so
// they are escaped too, which leaves the JSON value unchanged.
const CHARACTERS_SQS_REJECTS = /[\uFFFE\uFFFF]/g;

/** The message for one object: exactly `{"bucket":"…","key":"…"}`. */
export function messageBody(object: ObjectRef): string {
  return JSON.stringify({ bucket: object.bucket, key: object.key }).replace(
    CHARACTERS_SQS_REJECTS,
    (char) => `\\u${char.charCodeAt(0).toString(16)}`,
  );
}

export interface FifoFields {
  MessageDeduplicationId: string;
  MessageGroupId: string;
}

/**
 * FIFO fields for one object. The deduplication id is the SHA-256 of `bucket/key`, so a retried
 * send within SQS's 5-minute window is dropped. Groups are derived from the same hash: the same
 * key always lands in the same group, and many groups let high-throughput FIFO spread messages
 * over partitions and consumers work in parallel.
 */
export function fifoFields(object: ObjectRef, messageGroups: number): FifoFields {
  const digest = createHash('sha256').update(`${object.bucket}/${object.key}`).digest('hex');
  const group = messageGroups === 1 ? 0 : Number.parseInt(digest.slice(0, 12), 16) % messageGroups;
  return { MessageDeduplicationId: digest, MessageGroupId: `objects-${group}` };
}
