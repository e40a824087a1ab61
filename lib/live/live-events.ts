import type { SQSRecord } from 'aws-lambda';
import { decodeS3Key } from '../core/key-encoding.ts';
import type { ObjectDetails, ObjectRef } from '../core/types.ts';
import { revisionOf } from './live-record.ts';

/**
 * One object written, as an S3 event told of it: what the live path publishes, already the
 * message's object (a batch holds thousands: one object each, nothing copied on the way).
 */
export interface LiveEvent extends ObjectRef {
  /** EventBridge: the key as given might be URL-encoded after all; this is what it decodes to, when that differs. */
  alternateKey?: string;
  /** Size, ETag (without quotes) and version id when the event gives them; when S3 wrote the object (ISO 8601) as `lastModified`. */
  details: ObjectDetails & { lastModified: string };
  /** The write: version id, else ETag, else sequencer (the FIFO deduplication id covers it). */
  revision: string;
  /** S3's order of the events of one key (hex); empty when the event has none. */
  sequencer: string;
  /** `lastModified` in ms since the epoch: the lag is measured from it. */
  writtenAt: number;
  /** The buffer queue's message the event came in, for a partial batch response. */
  messageId: string;
}

/** What a record of the buffer queue held that is not an object written, and why. */
export interface IgnoredRecord {
  messageId: string;
  reason: string;
}

interface EventBridgeS3Event {
  source?: unknown;
  'detail-type'?: unknown;
  time?: unknown;
  detail?: {
    bucket?: { name?: unknown };
    object?: { key?: unknown; size?: unknown; etag?: unknown; 'version-id'?: unknown; sequencer?: unknown };
  };
}

interface S3NotificationRecord {
  eventName?: unknown;
  eventTime?: unknown;
  s3?: {
    bucket?: { name?: unknown };
    object?: { key?: unknown; size?: unknown; eTag?: unknown; versionId?: unknown; sequencer?: unknown };
  };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const count = (value: unknown): number | undefined =>
  Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined;

/**
 * The objects written that the buffer queue's records tell of: an EventBridge "Object Created"
 * event (the rule's target), or an S3 notification's records (a bucket that notifies the queue
 * itself). A record that is neither, or names no bucket or key, is returned as ignored with the
 * reason: logged, never published, never retried.
 */
export function liveEventsOf(records: readonly SQSRecord[]): { events: LiveEvent[]; ignored: IgnoredRecord[] } {
  const events: LiveEvent[] = [];
  const ignored: IgnoredRecord[] = [];
  for (const record of records) {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      ignored.push({ messageId: record.messageId, reason: 'the message is not JSON' });
      continue;
    }
    const found = Array.isArray((body as { Records?: unknown }).Records)
      ? fromNotification((body as { Records: S3NotificationRecord[] }).Records, record.messageId)
      : fromEventBridge(body as EventBridgeS3Event, record.messageId);
    if (typeof found === 'string') ignored.push({ messageId: record.messageId, reason: found });
    else events.push(...found);
  }
  return { events, ignored };
}

/** EventBridge's event: the key as S3 gave it (examples show it not URL-encoded), its decoding kept aside. */
function fromEventBridge(event: EventBridgeS3Event, messageId: string): LiveEvent[] | string {
  if (event?.source !== 'aws.s3' || event['detail-type'] !== 'Object Created') {
    return `not an S3 "Object Created" event (${String(event?.['detail-type'] ?? 'no detail-type')})`;
  }
  const object = event.detail?.object;
  const bucket = text(event.detail?.bucket?.name);
  const key = text(object?.key);
  if (!bucket || !key) return 'the event names no bucket or key';
  let decoded: string | undefined;
  try {
    decoded = decodeS3Key(key);
  } catch {
    decoded = undefined;
  }
  const live = written({
    bucket,
    key,
    size: object?.size,
    etag: object?.etag,
    versionId: object?.['version-id'],
    sequencer: object?.sequencer,
    time: event.time,
    messageId,
  });
  if (decoded !== undefined && decoded !== key) live.alternateKey = decoded;
  return [live];
}

/** An S3 notification: keys URL-encoded (a space is `+`), `s3:TestEvent` and other kinds ignored. */
function fromNotification(records: S3NotificationRecord[], messageId: string): LiveEvent[] | string {
  const events: LiveEvent[] = [];
  for (const record of records) {
    if (typeof record?.eventName !== 'string' || !record.eventName.startsWith('ObjectCreated:')) continue;
    const object = record.s3?.object;
    const bucket = text(record.s3?.bucket?.name);
    const encoded = text(object?.key);
    if (!bucket || !encoded) return 'a record names no bucket or key';
    let key: string;
    try {
      key = decodeS3Key(encoded);
    } catch {
      return `a key is not URL-encoded as S3 encodes it: "${encoded.slice(0, 200)}"`;
    }
    const live = written({
      bucket,
      key,
      size: object?.size,
      etag: object?.eTag,
      versionId: object?.versionId,
      sequencer: object?.sequencer,
      time: record.eventTime,
      messageId,
    });
    events.push(live);
  }
  return events.length > 0 ? events : 'no ObjectCreated record';
}

/** What an event says of the object written: checked here, whichever shape the event has. */
interface Written {
  bucket: string;
  key: string;
  size: unknown;
  etag: unknown;
  versionId: unknown;
  sequencer: unknown;
  time: unknown;
  messageId: string;
}

/** An event's object, its optional details set only when the event gives them (a few thousand a batch: no spreads). */
function written(given: Written): LiveEvent {
  const lastModified = isoTime(given.time);
  const details: LiveEvent['details'] = { lastModified };
  const bytes = count(given.size);
  if (bytes !== undefined) details.size = bytes;
  const tag = text(given.etag);
  if (tag !== undefined) details.etag = tag.includes('"') ? tag.replaceAll('"', '') : tag;
  const version = text(given.versionId);
  if (version !== undefined) details.versionId = version;
  const sequencer = text(given.sequencer) ?? '';
  return {
    bucket: given.bucket,
    key: given.key,
    details,
    revision: revisionOf(details) ?? `s:${sequencer}`,
    sequencer,
    writtenAt: Date.parse(lastModified),
    messageId: given.messageId,
  };
}

/** The event's time as ISO 8601: as given when it is already (EventBridge's and S3's are), else now. */
function isoTime(value: unknown): string {
  if (typeof value === 'string' && ISO_TIME.test(value)) return value;
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return new Date(Number.isNaN(time) ? Date.now() : time).toISOString();
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** `a` is a later event of the same key than `b`: sequencers left-padded with zeros, compared as strings. */
export function isLater(a: LiveEvent, b: LiveEvent): boolean {
  const width = Math.max(a.sequencer.length, b.sequencer.length);
  const left = a.sequencer.padStart(width, '0');
  const right = b.sequencer.padStart(width, '0');
  return left === right ? a.writtenAt > b.writtenAt : left > right;
}

/** One event per key: the latest by S3's sequencer, so a batch publishes each key's last write once. */
export function latestPerKey(events: readonly LiveEvent[]): { latest: LiveEvent[]; superseded: LiveEvent[] } {
  // Keys by bucket, not `bucket/key` strings: no string built per event.
  const buckets = new Map<string, Map<string, LiveEvent>>();
  const superseded: LiveEvent[] = [];
  for (const event of events) {
    let byKey = buckets.get(event.bucket);
    if (!byKey) {
      byKey = new Map();
      buckets.set(event.bucket, byKey);
    }
    const held = byKey.get(event.key);
    if (!held) byKey.set(event.key, event);
    else if (isLater(event, held)) {
      superseded.push(held);
      byKey.set(event.key, event);
    } else superseded.push(event);
  }
  const latest: LiveEvent[] = [];
  for (const byKey of buckets.values()) for (const event of byKey.values()) latest.push(event);
  return { latest, superseded };
}
