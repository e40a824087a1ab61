import type { S3EventRecord } from 'aws-lambda';
import { hash } from 'node:crypto';
import { encodeS3Key } from './key-encoding.ts';
import type { MessageField, ObjectRef } from './types.ts';

// SQS accepts #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF. JSON.stringify already
// escapes control characters and lone surrogates; U+FFFE and U+FFFF are legal in S3 keys, so
// they are escaped too, which leaves the JSON value unchanged.
const CHARACTERS_SQS_REJECTS = /[\uFFFE\uFFFF]/g;

/**
 * The message for one object: exactly `{"bucket":"…","key":"…"}`, then the optional `fields` in
 * the order given. A field the object lacks is left out (sources are checked at start: a source
 * that cannot provide a field refuses to run).
 */
export function messageBody(object: ObjectRef, fields: readonly MessageField[] = []): string {
  const body: Record<string, unknown> = { bucket: object.bucket, key: object.key };
  for (const field of fields) if (object.details?.[field] !== undefined) body[field] = object.details[field];
  return sqsSafe(JSON.stringify(body));
}

/** What an S3 event notification of a created object says, and who it says sent it. */
export interface ObjectCreated {
  bucket: string;
  /** The key as stored: encoded here as S3 encodes it in notifications. */
  key: string;
  size: number;
  eTag: string;
  versionId?: string;
  sequencer: string;
  time: Date;
  region: string;
  configurationId: string;
  /** The principal, source address and request id the record names. */
  origin: { principalId: string; sourceIPAddress: string; requestId: string };
}

/**
 * One record of an S3 event notification of a created object (`ObjectCreated:Put`), with the key
 * encoded as S3 encodes it in notifications (a space as `+`, the rest percent-encoded).
 */
export function objectCreatedRecord(created: ObjectCreated): S3EventRecord {
  const { bucket, origin } = created;
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: created.region,
    eventTime: created.time.toISOString(),
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: origin.principalId },
    requestParameters: { sourceIPAddress: origin.sourceIPAddress },
    responseElements: { 'x-amz-request-id': origin.requestId, 'x-amz-id-2': origin.requestId },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: created.configurationId,
      bucket: { name: bucket, ownerIdentity: { principalId: '' }, arn: `arn:aws:s3:::${bucket}` },
      object: {
        key: encodeS3Key(created.key),
        size: created.size,
        eTag: created.eTag,
        ...(created.versionId !== undefined && { versionId: created.versionId }),
        sequencer: created.sequencer,
      },
    },
  };
}

/**
 * The message for one object as S3 would notify its creation, so that a function written for
 * S3's events processes the backlog unchanged. The time is the object's last modified time, and
 * the sequencer (which orders the events of one key) is derived from it; what a backlog does not
 * know (request ids, addresses) is left empty.
 */
export function s3EventBody(object: ObjectRef, region: string): string {
  const { size = 0, etag = '', lastModified, versionId } = object.details ?? {};
  const time = lastModified ? Date.parse(lastModified) : Date.now();
  const record = objectCreatedRecord({
    bucket: object.bucket,
    key: object.key,
    size,
    eTag: etag,
    ...(versionId !== undefined && versionId !== 'null' && { versionId }),
    sequencer: time.toString(16).toUpperCase().padStart(16, '0'),
    time: new Date(time),
    region,
    configurationId: 's3-to-sqs',
    origin: { principalId: 's3-to-sqs', sourceIPAddress: '', requestId: '' },
  });
  return sqsSafe(JSON.stringify({ Records: [record] }));
}

/** JSON text with the characters SQS refuses escaped, which leaves the JSON value unchanged. */
function sqsSafe(json: string): string {
  return json.replace(CHARACTERS_SQS_REJECTS, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}

/** What SQS takes in a deduplication id besides letters and digits: ASCII punctuation. */
const DEDUPLICATION_ID = /^[\x21-\x7e]*$/;

export interface FifoFields {
  MessageDeduplicationId: string;
  MessageGroupId: string;
}

/**
 * FIFO fields for one object. The deduplication id is the SHA-256 of `bucket/key`, so a retried
 * send within SQS's 5-minute window is dropped; with `withVersion` (the version id is in the
 * body) it covers `bucket/key/versionId`, since two versions are two different messages, and with
 * a `revision` (a live event's) `bucket/key/revision`: the same event twice is dropped, a rewrite is not. Groups
 * come from `bucket/key` alone: every version of a key lands in the same group, in order, and
 * many groups let high-throughput FIFO spread messages over partitions.
 */
export function fifoFields(object: ObjectRef, messageGroups: number, withVersion = false): FifoFields {
  // One-shot hashing: no Hash object per message.
  const keyDigest = hash('sha256', `${object.bucket}/${object.key}`, 'hex');
  // A live message covers the write it announces (appended to the key's digest while the id stays
  // within SQS's 128 characters: no second hash per message); a report's, the version when the body names it.
  const revision = object.revision ?? (withVersion ? (object.details?.versionId ?? '') : undefined);
  const digest =
    revision === undefined
      ? keyDigest
      : object.revision !== undefined && keyDigest.length + object.revision.length <= 128 && DEDUPLICATION_ID.test(object.revision)
        ? `${keyDigest}${object.revision}`
        : hash('sha256', `${object.bucket}/${object.key}/${revision}`, 'hex');
  const group = messageGroups === 1 ? 0 : Number.parseInt(keyDigest.slice(0, 12), 16) % messageGroups;
  return { MessageDeduplicationId: digest, MessageGroupId: `objects-${group}` };
}
