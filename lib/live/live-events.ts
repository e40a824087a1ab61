import type { SQSRecord } from 'aws-lambda';
import { decodeS3Key } from '../core/key-encoding.ts';

/** One object written, as an S3 event told of it: what the live path publishes. */
export interface LiveEvent {
  bucket: string;
  key: string;
  /** EventBridge: the key as given might be URL-encoded after all; this is what it decodes to, when that differs. */
  alternateKey?: string;
  size?: number;
  /** Without quotes. */
  etag?: string;
  versionId?: string;
  /** S3's order of the events of one key (hex); empty when the event has none. */
  sequencer: string;
  /** When S3 wrote the object (ISO 8601): the message's `lastModified`. */
  eventTime: string;
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
  const live = written(bucket, key, object?.size, object?.etag, object?.['version-id']);
  if (decoded !== undefined && decoded !== key) live.alternateKey = decoded;
  live.sequencer = text(object?.sequencer) ?? '';
  live.eventTime = isoTime(event.time);
  live.messageId = messageId;
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
    const live = written(bucket, key, object?.size, object?.eTag, object?.versionId);
    live.sequencer = text(object?.sequencer) ?? '';
    live.eventTime = isoTime(record.eventTime);
    live.messageId = messageId;
    events.push(live);
  }
  return events.length > 0 ? events : 'no ObjectCreated record';
}

/** An event's object, its optional details set only when the event gives them (a few thousand a batch: no spreads). */
function written(bucket: string, key: string, size: unknown, etag: unknown, versionId: unknown): LiveEvent {
  const live: LiveEvent = { bucket, key, sequencer: '', eventTime: '', messageId: '' };
  const bytes = count(size);
  if (bytes !== undefined) live.size = bytes;
  const tag = text(etag);
  if (tag !== undefined) live.etag = tag.includes('"') ? tag.replaceAll('"', '') : tag;
  const version = text(versionId);
  if (version !== undefined) live.versionId = version;
  return live;
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
  return left === right ? a.eventTime > b.eventTime : left > right;
}

/** One event per key: the latest by S3's sequencer, so a batch publishes each key's last write once. */
export function latestPerKey(events: readonly LiveEvent[]): { latest: LiveEvent[]; superseded: LiveEvent[] } {
  const byKey = new Map<string, LiveEvent>();
  const superseded: LiveEvent[] = [];
  for (const event of events) {
    const id = `${event.bucket}/${event.key}`;
    const held = byKey.get(id);
    if (!held) byKey.set(id, event);
    else if (isLater(event, held)) {
      superseded.push(held);
      byKey.set(id, event);
    } else superseded.push(event);
  }
  return { latest: [...byKey.values()], superseded };
}
