import { createHash } from 'node:crypto';

/** What the buckets of the live path are chosen from: the stack's parameters, at package time. */
export interface LiveSourceSettings {
  sourceBucket: string;
  /** `acceptSourceBuckets`, comma-separated: an adopted inventory's source buckets. */
  acceptSourceBuckets: string;
  /** `adoptInventoryBucket`: its EventBridge delivery has a resource of its own already. */
  adoptedBucket: string;
  /** The stack's own bucket (reports, run state): never a source. */
  inventoryBucket: string;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The template's pieces that name every bucket of the live path (CloudFormation has no loop). */
export interface LiveSources {
  /** The rule's bucket names: the source bucket, then each accepted source bucket. */
  buckets: string[];
  /** The same, comma-separated: the live function's `LIVE_SOURCE_BUCKETS`. */
  bucketList: string;
  /** For the live function's listing (a missing key reads as 404, not 403) and its HEADs. */
  bucketArns: Json[];
  objectArns: Json[];
  /**
   * One `Custom::BucketEventBridge` per accepted source bucket, as a `resources` fragment, with
   * their condition (live on, the adopted inventory this account's); empty when there is none.
   */
  resources: { Conditions?: Record<string, Json>; Resources: Record<string, Json> };
  /** The stack-setup role's read-modify-write of their notification configurations; no value when none. */
  turnOnStatement: Json;
}

/** EventBridge's default quota on a rule's event pattern, in characters. */
export const EVENT_PATTERN_LIMIT = 2048;

/** The live rule's pattern (resources/live.yml): S3's Object Created events of these buckets. */
export function liveEventPattern(buckets: readonly string[]) {
  return { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: buckets } } };
}

/** The condition of the accepted source buckets' resources: live is on, and the adopted inventory is this account's. */
const CONDITION = 'LiveOnAdoptedSources';
const NO_VALUE = { Ref: 'AWS::NoValue' };

/**
 * The live path's buckets: the stack's source bucket, and with an adopted inventory each bucket of
 * `acceptSourceBuckets`, its names checked here (they become an event pattern and IAM resources).
 * The stack's own bucket is never one. EventBridge delivery is turned on, by the read-modify-write
 * custom resource, for each accepted bucket but the source bucket (which has its own) and the
 * adopted inventory bucket (likewise); only when that inventory is this account's: another
 * account's owner turns it on and forwards the events (docs/deploying.md).
 */
export function liveSources(settings: LiveSourceSettings): LiveSources {
  // Without an adopted inventory, accepted buckets only filter the stack's own reports.
  const accepted = settings.adoptedBucket
    ? settings.acceptSourceBuckets
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean)
    : [];
  for (const name of accepted) {
    // S3's rules of old (us-east-1) admit capitals and underscores: only what could not be a name is refused.
    if (!/^[A-Za-z0-9._-]{3,255}$/.test(name))
      throw new Error(
        `acceptSourceBuckets names "${name}", which is no bucket name: 3 to 255 letters, digits, dots, hyphens or underscores`,
      );
  }
  const buckets = [...new Set([settings.sourceBucket, ...accepted])].filter((name) => name !== settings.inventoryBucket);
  const patternSize = JSON.stringify(liveEventPattern(buckets)).length;
  if (patternSize > EVENT_PATTERN_LIMIT)
    throw new Error(
      `acceptSourceBuckets names ${accepted.length} buckets: the live rule's event pattern would be ${patternSize} characters, past EventBridge's ${EVENT_PATTERN_LIMIT}; adopt with fewer accepted buckets per stack`,
    );
  const turnedOn = buckets.filter((name) => name !== settings.sourceBucket && name !== settings.adoptedBucket);
  const arn = (name: string, suffix = '') => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${name}${suffix}` });
  const resources = Object.fromEntries(
    turnedOn.map((name) => [
      eventBridgeResourceName(name),
      {
        Type: 'Custom::BucketEventBridge',
        Condition: CONDITION,
        Properties: { ServiceToken: { 'Fn::GetAtt': ['StackSetupLambdaFunction', 'Arn'] }, Bucket: name, Purpose: 'live source bucket' },
      },
    ]),
  );
  const statement = {
    Sid: 'TurnOnLiveSourceBucketsEventBridge',
    Effect: 'Allow',
    Action: ['s3:GetBucketNotification', 's3:PutBucketNotification'],
    Resource: turnedOn.map((name) => arn(name)),
  };
  return {
    buckets,
    bucketList: buckets.join(','),
    bucketArns: buckets.map((name) => arn(name)),
    objectArns: buckets.map((name) => arn(name, '/*')),
    resources:
      turnedOn.length === 0
        ? { Resources: {} }
        : {
            Conditions: { [CONDITION]: { 'Fn::And': [{ Condition: 'Live' }, { Condition: 'TurnOnAdoptedEventBridge' }] } },
            Resources: resources,
          },
    turnOnStatement: turnedOn.length === 0 ? NO_VALUE : { 'Fn::If': [CONDITION, statement, NO_VALUE] },
  };
}

/**
 * A resource name per bucket that stays the same whatever the list's order (a reordered list
 * replaces nothing): its letters and digits, and a digest that tells `a.b` from `ab`.
 */
export function eventBridgeResourceName(bucket: string): string {
  const words = bucket
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return `LiveSourceEventBridge${words}${createHash('sha256').update(bucket).digest('hex').slice(0, 8)}`;
}
