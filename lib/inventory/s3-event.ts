import type { EventBridgeEvent, S3Event } from 'aws-lambda';
import { type Environment, listOf } from '../core/config.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { displayKey } from '../core/key-display.ts';
import { decodeS3Key } from '../core/key-encoding.ts';
import { objectCreatedRecord } from '../core/message.ts';
import type { Log, S3Location } from '../core/types.ts';
import { MANIFEST_FILE } from './manifest.ts';

/** The detail of S3's "Object Created" event on EventBridge. */
export interface ObjectCreatedDetail {
  version: string;
  bucket: { name: string };
  object: { key: string; size?: number; etag?: string; 'version-id'?: string; sequencer?: string };
  'request-id': string;
  requester: string;
  'source-ip-address'?: string;
  reason?: string;
}
export type ObjectCreatedEvent = EventBridgeEvent<'Object Created', ObjectCreatedDetail>;

/** The events that announce a manifest: an S3 notification, or S3's event through EventBridge. */
export type ManifestEvent = S3Event | ObjectCreatedEvent;

/**
 * A manifest an event announced. EventBridge's examples show keys as they are, S3
 * notifications URL-encode them: an EventBridge key that decodes to another key carries that
 * one as `alternateKey`, read when the key as given does not exist.
 */
export interface AnnouncedManifest extends S3Location {
  alternateKey?: string;
}

/**
 * The manifests an event announces, from either shape. Records that are not an object created
 * as a manifest.json are logged and left out.
 */
export function manifestLocations(event: ManifestEvent, log: Log): AnnouncedManifest[] {
  if (isEventBridgeEvent(event)) return eventBridgeManifest(event, log);
  if (!Array.isArray(event?.Records)) {
    throw new InvalidArgumentError(
      'the event is neither an S3 event notification (a "Records" array) nor an S3 "Object Created" event from EventBridge',
    );
  }
  return event.Records.flatMap((record) => {
    const bucket = record.s3?.bucket?.name;
    const rawKey = record.s3?.object?.key;
    if (!bucket || !rawKey) {
      log.warn('ignored an event record without a bucket and key', { eventName: record.eventName });
      return [];
    }
    let key: string;
    try {
      key = decodeS3Key(rawKey);
    } catch {
      throw new InvalidArgumentError(
        `S3 event record for bucket "${bucket}" has a key that is not URL-encoded as S3 encodes keys: "${displayKey(rawKey)}"`,
      );
    }
    return isNewManifest(record.eventName?.startsWith('ObjectCreated:'), bucket, key, log, record.eventName) ? [{ bucket, key }] : [];
  });
}

function isEventBridgeEvent(event: ManifestEvent): event is ObjectCreatedEvent {
  return typeof event === 'object' && event !== null && 'detail-type' in event;
}

function eventBridgeManifest(event: ObjectCreatedEvent, log: Log): AnnouncedManifest[] {
  const bucket = event.detail?.bucket?.name;
  const key = event.detail?.object?.key;
  if (event.source !== 'aws.s3' || typeof bucket !== 'string' || typeof key !== 'string' || bucket === '' || key === '') {
    throw new InvalidArgumentError(
      `EventBridge event "${event['detail-type']}" from "${event.source}" is not an S3 event with detail.bucket.name and detail.object.key`,
    );
  }
  if (!isNewManifest(event['detail-type'] === 'Object Created', bucket, key, log, event['detail-type'])) return [];
  let decoded: string | undefined;
  try {
    decoded = decodeS3Key(key);
  } catch {
    decoded = undefined;
  }
  return [{ bucket, key, ...(decoded !== undefined && decoded !== key && { alternateKey: decoded }) }];
}

function isNewManifest(created: boolean | undefined, bucket: string, key: string, log: Log, eventName: string | undefined): boolean {
  if (created && key.split('/').at(-1) === MANIFEST_FILE) return true;
  log.info('ignored an event that is not a new manifest.json', { eventName, bucket, key });
  return false;
}

/** Which reports a stack takes: those of some source buckets, of some inventory configurations. */
export interface ManifestFilter {
  /** Source buckets whose reports are published; empty: every one. */
  sourceBuckets: string[];
  /** Inventory configuration ids whose reports are published; empty: every one. */
  configurationIds: string[];
}

/** `ACCEPT_SOURCE_BUCKETS` and `ACCEPT_CONFIGURATION_IDS`, comma-separated; empty, every report. */
export function manifestFilterFromEnvironment(env: Environment): ManifestFilter {
  return { sourceBuckets: listOf(env, 'ACCEPT_SOURCE_BUCKETS'), configurationIds: listOf(env, 'ACCEPT_CONFIGURATION_IDS') };
}

/**
 * Whether the filter takes a report, from the path S3 delivers it under:
 * `<prefix>/<source bucket>/<configuration id>/<YYYY-MM-DDTHH-MMZ>/manifest.json`.
 */
export function acceptsManifest(filter: ManifestFilter, manifest: S3Location): boolean {
  const parts = manifest.key.split('/');
  const sourceBucket = parts.at(-4) ?? '';
  const configurationId = parts.at(-3) ?? '';
  return (
    (filter.sourceBuckets.length === 0 || filter.sourceBuckets.includes(sourceBucket)) &&
    (filter.configurationIds.length === 0 || filter.configurationIds.includes(configurationId))
  );
}

/** The event S3 sends when an object is created, as delivered to a Lambda function. */
export function objectCreatedEvent(location: S3Location, size: number, eventTime = new Date()): S3Event {
  const record = objectCreatedRecord({
    ...location,
    size,
    eTag: '',
    sequencer: '0',
    time: eventTime,
    region: process.env.AWS_REGION ?? 'us-east-1',
    configurationId: 'inventory-manifest',
    origin: { principalId: 'AWS:s3.amazonaws.com', sourceIPAddress: '127.0.0.1', requestId: 'local' },
  });
  return { Records: [record] };
}

/** S3's "Object Created" event as EventBridge delivers it to a rule's target, key as it is. */
export function eventBridgeObjectCreated(
  location: S3Location,
  size: number,
  account = '000000000000',
  eventTime = new Date(),
  /** The write as S3 tells of it: its ETag, sequencer, version id and reason (a PutObject of an empty object by default). */
  written: { etag?: string; sequencer?: string; versionId?: string; reason?: string } = {},
): ObjectCreatedEvent {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account,
    time: eventTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: process.env.AWS_REGION ?? 'us-east-1',
    resources: [`arn:aws:s3:::${location.bucket}`],
    detail: {
      version: '0',
      bucket: { name: location.bucket },
      object: {
        key: location.key,
        size,
        etag: written.etag ?? 'd41d8cd98f00b204e9800998ecf8427e',
        ...(written.versionId !== undefined && { 'version-id': written.versionId }),
        sequencer: written.sequencer ?? '0064D3901D00059242',
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: 's3.amazonaws.com',
      'source-ip-address': '127.0.0.1',
      reason: written.reason ?? 'PutObject',
    },
  };
}
