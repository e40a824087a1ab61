import type { S3Event } from 'aws-lambda';
import { InvalidArgumentError } from '../core/errors.ts';
import { displayKey } from '../core/key-display.ts';
import { decodeS3Key, encodeS3Key } from '../core/key-encoding.ts';
import type { Log, S3Location } from '../core/types.ts';

const MANIFEST_NAME = 'manifest.json';

/**
 * The manifests an S3 event announces. Event keys are URL-encoded like inventory keys. Records
 * that are not an ObjectCreated event on a manifest.json are logged and left out.
 */
export function manifestLocations(event: S3Event, log: Log): S3Location[] {
  if (!Array.isArray(event?.Records)) {
    throw new InvalidArgumentError('the event has no "Records" array: expected an S3 event notification');
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
    if (!record.eventName?.startsWith('ObjectCreated:') || key.split('/').at(-1) !== MANIFEST_NAME) {
      log.info('ignored an event record that is not a new manifest.json', { eventName: record.eventName, bucket, key });
      return [];
    }
    return [{ bucket, key }];
  });
}

/** The event S3 sends when an object is created, as delivered to a Lambda function. */
export function objectCreatedEvent(location: S3Location, size: number, eventTime = new Date()): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: process.env.AWS_REGION ?? 'us-east-1',
        eventTime: eventTime.toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'AWS:s3.amazonaws.com' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'local', 'x-amz-id-2': 'local' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'inventory-manifest',
          bucket: { name: location.bucket, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${location.bucket}` },
          object: { key: encodeS3Key(location.key), size, eTag: '', sequencer: '0' },
        },
      },
    ],
  };
}
