import { isDeepStrictEqual } from 'node:util';
import {
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  type NotificationConfiguration,
  PutBucketNotificationConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { CloudFormationCustomResourceEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { listObjects } from '../core/listing.ts';
import type { Log, S3Location } from '../core/types.ts';
import type { InventoryFormat } from '../inventory/manifest.ts';
import { eventBridgeObjectCreated, type ManifestEvent } from '../inventory/s3-event.ts';
import type { FanOutSummary } from '../run/fan-out.ts';
import type { RunStateStore } from '../run/state.ts';
import type { RunReport } from '../run/types.ts';
import { callCustomResource } from './custom-resource-call.ts';
import { runWorkersUntilReports } from './event-source.ts';
import { writeInventoryReport } from './report-writer.ts';
import { sampleInventoryRows } from './sample-objects.ts';

/** Another team's inventories: one bucket collecting the daily reports of two source buckets. */
export const ADOPTED = {
  bucket: 'team-inventories',
  prefix: 'athena/inventories',
  configId: 'daily-for-athena',
  sourceBuckets: ['team-photos', 'team-videos'],
  /** The owner's own notification, which the stack must keep. */
  ownerQueueArn: 'arn:aws:sqs:us-east-1:000000000000:team-uploads',
} as const;

/** The handlers the adopted flow invokes, as Lambda would. */
export interface AdoptHandlers {
  inventory: (event: ManifestEvent) => Promise<{ runs: FanOutSummary[] }>;
  worker: (event: SQSEvent) => Promise<SQSBatchResponse>;
  deadLetter: (event: SQSEvent) => Promise<void>;
  stackSetup: (event: CloudFormationCustomResourceEvent) => Promise<void>;
}

export interface AdoptDemoOptions {
  s3: S3Client;
  sqs: SQSClient;
  work: { workQueueUrl: string; deadLetterQueueUrl: string };
  /** The stack's own bucket, which keeps the runs' state. */
  stateStore: RunStateStore;
  objectsPerBucket: number;
  files: number;
  workers: number;
  format: InventoryFormat;
  handlers: AdoptHandlers;
  log: Log;
  step: (line: string) => void;
}

export interface AdoptDemoResult {
  sourceBuckets: Array<{ bucket: string; published: number; status: RunReport['status'] }>;
  /** The owner's notification configuration is as it was, EventBridge delivery added. */
  otherNotificationsKept: boolean;
  /** Objects the run created or changed in the adopted bucket. */
  writtenToAdoptedBucket: number;
  reports: RunReport[];
}

const OWNER_NOTIFICATIONS: NotificationConfiguration = {
  QueueConfigurations: [{ Id: 'new-uploads', QueueArn: ADOPTED.ownerQueueArn, Events: ['s3:ObjectCreated:*'] }],
};

/**
 * The adopted-inventory flow of the stack: the custom resource turns EventBridge delivery on for
 * a bucket whose owner has a notification of their own, both source buckets' reports land there,
 * S3's "Object Created" events reach the inventory function, and the workers publish both; the
 * adopted bucket is only read.
 */
export async function runAdoptedInventories(options: AdoptDemoOptions): Promise<AdoptDemoResult> {
  const { s3, step } = options;
  await s3.send(new CreateBucketCommand({ Bucket: ADOPTED.bucket }));
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: ADOPTED.bucket, NotificationConfiguration: OWNER_NOTIFICATIONS }));
  step(`s3://${ADOPTED.bucket} is another team's inventory bucket; its owner sends new uploads to an SQS queue of theirs.`);
  const created = await callCustomResource(options.handlers.stackSetup, {
    type: 'Custom::BucketEventBridge',
    request: 'Create',
    properties: { Bucket: ADOPTED.bucket },
  });
  if (created.Status !== 'SUCCESS') throw new Error(`the custom resource failed: ${created.Reason}`);
  const physicalId = created.PhysicalResourceId;
  step(`The stack's custom resource turned EventBridge delivery on for it (${physicalId}), keeping that notification.`);

  const manifests = await writeReports(options);
  const before = await objectVersions(s3, ADOPTED.bucket);
  for (const manifest of manifests) {
    const { runs } = await options.handlers.inventory(eventBridgeObjectCreated(manifest, 0));
    step(
      `EventBridge delivered "Object Created" of s3://${manifest.bucket}/${manifest.key}: ${runs[0]?.status}, ${runs[0]?.parts} part tasks.`,
    );
  }
  step(`${options.workers} worker invocations at a time publish both reports; the runs' state is in s3://${options.stateStore.bucket}.`);
  const { worker, deadLetter } = options.handlers;
  const reports = await runWorkersUntilReports({ ...options, ...options.work, worker, deadLetter, manifests });
  const after = await objectVersions(s3, ADOPTED.bucket);
  return {
    sourceBuckets: reports.map((report) => ({ bucket: report.sourceBucket, published: report.totals.published, status: report.status })),
    otherNotificationsKept: await ownerNotificationsKept(s3),
    writtenToAdoptedBucket: [...after].filter(([key, etag]) => before.get(key) !== etag).length,
    reports,
  };
}

/** One report per source bucket, in the owner's layout, of rows no other bucket has. */
async function writeReports(options: AdoptDemoOptions): Promise<S3Location[]> {
  const manifests: S3Location[] = [];
  for (const [index, sourceBucket] of ADOPTED.sourceBuckets.entries()) {
    const first = index * options.objectsPerBucket;
    const written = await writeInventoryReport(options.s3, {
      sourceBucket,
      destinationBucket: ADOPTED.bucket,
      prefix: ADOPTED.prefix,
      configId: ADOPTED.configId,
      rows: sampleInventoryRows(first + options.objectsPerBucket, new Date(), first),
      rowsPerFile: Math.max(1, Math.ceil(options.objectsPerBucket / options.files)),
      format: options.format,
    });
    options.step(`The owner's inventory of s3://${sourceBucket} landed: ${written.files.length} data files, ${written.rows} rows.`);
    manifests.push(written.manifest);
  }
  return manifests;
}

/** Every key of a bucket with its ETag. */
async function objectVersions(s3: S3Client, bucket: string): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  for await (const object of listObjects(s3, bucket)) versions.set(object.Key ?? '', object.ETag ?? '');
  return versions;
}

async function ownerNotificationsKept(s3: S3Client): Promise<boolean> {
  const {
    $metadata: _,
    EventBridgeConfiguration,
    ...rest
  } = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: ADOPTED.bucket }));
  return EventBridgeConfiguration !== undefined && isDeepStrictEqual(rest, OWNER_NOTIFICATIONS);
}
