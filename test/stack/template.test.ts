import { beforeAll, describe, expect, it } from 'vitest';
import { seedBucket } from '../../lib/local/sample-objects.ts';
import { packageTemplate, sls, STACK_VARIANTS } from '../../lib/local/stack-package.ts';
import { FUNCTION_NODE_OPTIONS } from '../../lib/local/node-options.ts';
import { asList, deployed, type Parameter, parameterProblem, roleStatements, type Json, type Template } from '../support/cloudformation.ts';
import { LIMITS } from '../../lib/core/config.ts';
import { useEmulator } from '../support/emulator.ts';
import { matchesPattern } from '../support/event-pattern.ts';
import { EVENT_PATTERN_LIMIT, liveEventPattern } from '../../lib/stack/live-sources.ts';

const aws = useEmulator();

// Packaging runs esbuild in the project folder: the variants are built one after another.
type Variant = keyof typeof STACK_VARIANTS;
const packaged = {} as Record<Variant, Template>;
let byDefault: Template;
let existingBucket: Template;
let existingQueue: Template;
let standardQueue: Template;
let alarmEmail: Template;

beforeAll(async () => {
  for (const [name, variant] of Object.entries(STACK_VARIANTS)) packaged[name as Variant] = await packageTemplate<Template>(variant);
  byDefault = deployed(packaged.byDefault);
  existingBucket = deployed(packaged.existingBucket);
  existingQueue = deployed(packaged.existingQueueWithKey);
  standardQueue = deployed(packaged.standardQueue);
  alarmEmail = deployed(packaged.alarmEmail);
}, 300_000);

const PREFIX = 's3-to-sqs-test-eu-west-1';
/** The text of a `Fn::Sub` resource in the aws partition. */
const subText = (resource: Json) =>
  String((resource as { 'Fn::Sub'?: string })['Fn::Sub'] ?? resource).replaceAll('${AWS::Partition}', 'aws');
/** IAM's resource matching: `*` any characters, `?` one. */
const globMatches = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  ).test(value);
const sub = (text: string) => ({ 'Fn::Sub': text });
const props = (template: Template, id: string) => {
  const resource = template.Resources[id];
  if (!resource) throw new Error(`${id} is not in the template`);
  return resource.Properties;
};

/** Every action any role is granted on a bucket: role, statement and its condition. */
const grantsOn = (template: Template, bucket: string) =>
  Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
    .flatMap(([id]) =>
      roleStatements(template, id)
        .filter(
          (statement) =>
            JSON.stringify(statement.Resource).includes(`s3:::${bucket}"`) ||
            JSON.stringify(statement.Resource).includes(`s3:::${bucket}/`),
        )
        .flatMap((statement) =>
          asList(statement.Action).map((action) => ({ id, action, sid: statement.Sid, condition: statement.Condition })),
        ),
    );

describe('the packaged stack, default parameters', () => {
  it('creates the source bucket, kept on removal, and turns on a daily CSV inventory of current versions', () => {
    const bucket = byDefault.Resources.SourceBucket;
    expect(bucket?.DeletionPolicy).toBe('Retain');
    expect(bucket?.Properties.BucketName).toBe(`${PREFIX}-source`);
    // Not in the bucket's properties, where it would outlive `sls remove` with the kept bucket.
    expect(bucket?.Properties).not.toHaveProperty('InventoryConfigurations');
    expect(byDefault.Resources.SourceBucketInventory).toMatchObject({
      Type: 'Custom::SourceBucketInventory',
      Properties: {
        SourceBucket: { Ref: 'SourceBucket' },
        ConfigurationId: 's3-to-sqs-test',
        DestinationBucketArn: sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory`),
        DestinationPrefix: 'inventory',
      },
    });
  });

  it('admits only S3 inventory delivery from the source bucket into a private, encrypted, TLS-only inventory bucket', () => {
    const bucket = props(byDefault, 'InventoryBucket');
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(JSON.stringify(bucket.BucketEncryption)).toContain('AES256');
    const statements = (props(byDefault, 'InventoryBucketPolicy').PolicyDocument as { Statement: Json[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory/inventory/*`),
        Condition: {
          ArnLike: { 'aws:SourceArn': sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-source`) },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' }, 's3:x-amz-acl': 'bucket-owner-full-control' },
        },
      }),
    );
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
  });

  it('expires old reports and empties the inventory bucket on removal', () => {
    expect(props(byDefault, 'InventoryBucket').LifecycleConfiguration).toEqual({
      Rules: [{ Id: 'expire-old-inventory-reports', Status: 'Enabled', Prefix: 'inventory/', ExpirationInDays: 14 }],
    });
    expect(byDefault.Resources.InventoryBucketEmptiedOnRemove?.Type).toBe('Custom::EmptyBucketOnDelete');
  });

  it('triggers the inventory function on manifest.json under the inventory prefix', () => {
    expect(props(byDefault, 'InventoryBucket').NotificationConfiguration).toEqual({
      LambdaConfigurations: [
        {
          Event: 's3:ObjectCreated:*',
          Function: { 'Fn::GetAtt': ['InventoryLambdaFunction', 'Arn'] },
          Filter: {
            S3Key: {
              Rules: [
                { Name: 'prefix', Value: 'inventory/' },
                { Name: 'suffix', Value: 'manifest.json' },
              ],
            },
          },
        },
      ],
    });
    expect(props(byDefault, 'InventoryFunctionS3Permission')).toMatchObject({
      Principal: 's3.amazonaws.com',
      SourceArn: sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory`),
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  it('creates an encrypted high-throughput FIFO queue', () => {
    expect(props(byDefault, 'TargetQueue')).toMatchObject({
      QueueName: `${PREFIX}-objects.fifo`,
      FifoQueue: true,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
    });
  });

  it('sends failed invocations to a queue with an alarm on it', () => {
    for (const config of ['InventoryLambdaEvConf', 'BackfillLambdaEvConf']) {
      expect(props(byDefault, config)).toMatchObject({
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['FailedInvocationsQueue', 'Arn'] } } },
      });
    }
    expect(props(byDefault, 'FailedInvocationsAlarm')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['FailedInvocationsQueue', 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
    expect(byDefault.Resources.AlarmEmailSubscription).toBeUndefined();
  });

  it('runs Node.js 24 on arm64 with plain-string environments, timeouts and log retention', () => {
    for (const [id, timeout, memory] of [
      ['InventoryLambdaFunction', 900, 1024],
      ['WorkerLambdaFunction', 900, 1769],
      ['DeadLetterLambdaFunction', 60, 256],
      ['StatusLambdaFunction', 60, 256],
      ['BackfillLambdaFunction', 60, 256],
      ['StackSetupLambdaFunction', 600, 256],
    ] as const) {
      const fn = props(byDefault, id);
      expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: timeout, MemorySize: memory });
      const variables = (fn.Environment as { Variables: Record<string, Json> }).Variables;
      for (const value of Object.values(variables)) expect(typeof value).toBe('string');
      // What the benchmark's measured processes run with too. Lambda's bootstrap adds heap sizes
      // of its own unless NODE_OPTIONS names one: both are named, and the old space fits the function.
      expect(variables.NODE_OPTIONS).toBe(FUNCTION_NODE_OPTIONS);
      const heapSize = (name: string) => Number(new RegExp(`--${name}=(\\d+)`).exec(String(variables.NODE_OPTIONS))?.[1]);
      expect(heapSize('max-semi-space-size')).toBeGreaterThan(0);
      expect(heapSize('max-old-space-size')).toBeGreaterThan(0);
      expect(heapSize('max-old-space-size')).toBeLessThanOrEqual(memory);
    }
    expect((props(byDefault, 'BackfillLambdaFunction').Environment as { Variables: object }).Variables).toMatchObject({
      QUEUE_NAME: `${PREFIX}-objects.fifo`,
      QUEUE_ARN: '',
      SOURCE_BUCKET: `${PREFIX}-source`,
      WORK_QUEUE_NAME: `${PREFIX}-work`,
      RUN_STATE_BUCKET: `${PREFIX}-inventory`,
      BACKFILL_STATE_PREFIX: 'inventory/_backfill/',
      WORKER_CONCURRENCY: '10',
    });
    for (const group of [
      'InventoryLogGroup',
      'WorkerLogGroup',
      'DeadLetterLogGroup',
      'StatusLogGroup',
      'BackfillLogGroup',
      'StackSetupLogGroup',
    ]) {
      expect(props(byDefault, group).RetentionInDays).toBe(30);
    }
    expect((props(byDefault, 'WorkerLambdaFunction').Environment as { Variables: object }).Variables).toMatchObject({
      WORK_QUEUE_NAME: `${PREFIX}-work`,
      CHECKPOINT_INTERVAL_MS: '5000',
    });
  });

  it('feeds the work queue to the workers one task at a time, within the configured concurrency', () => {
    expect(props(byDefault, 'WorkerEventSourceMappingSQSWorkQueue')).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['WorkQueue', 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    // Workers queue their own continuations: Lambda must not cut those chains at ~16 hops.
    expect(props(byDefault, 'WorkerLambdaFunction').RecursiveLoop).toBe('Allow');
    const workQueue = props(byDefault, 'WorkQueue');
    expect(workQueue).toMatchObject({
      QueueName: `${PREFIX}-work`,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['WorkDeadLetterQueue', 'Arn'] }, maxReceiveCount: 3 },
    });
    expect(workQueue.VisibilityTimeout as number).toBeGreaterThan(props(byDefault, 'WorkerLambdaFunction').Timeout as number);
  });

  it('records parts that failed every delivery, with an alarm', () => {
    expect(props(byDefault, 'DeadLetterEventSourceMappingSQSWorkDeadLetterQueue')).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['WorkDeadLetterQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['DeadLetterLambdaFunction', 'Arn'] },
    });
    expect(props(byDefault, 'FailedPartsAlarm')).toMatchObject({
      MetricName: 'NumberOfMessagesReceived',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['WorkDeadLetterQueue', 'QueueName'] } }],
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
  });

  it('grants each function only what it does, with no wildcard action and no S3 or SQS action on every resource', () => {
    const roles = Object.entries(byDefault.Resources).filter(([, resource]) => resource.Type === 'AWS::IAM::Role');
    expect(roles.map(([id]) => id).sort()).toEqual([
      'BackfillRole',
      'DeadLetterRole',
      'InventoryRole',
      'StackSetupRole',
      'StatusRole',
      'WorkerRole',
    ]);
    for (const [id] of roles) {
      for (const statement of roleStatements(byDefault, id)) {
        for (const action of asList(statement.Action)) {
          expect(action, `${id} ${statement.Sid}`).not.toContain('*');
          if (/^(s3|sqs):/.test(action)) {
            for (const resource of asList(statement.Resource)) {
              expect(JSON.stringify(resource), `${id} ${statement.Sid}`).not.toMatch(/^"\*"$|s3:::\*|sqs:\*|:\*"$/);
            }
          }
        }
      }
    }
    const actions = (id: string) => roleStatements(byDefault, id).map((statement) => [statement.Action, statement.Resource]);
    const runState = sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory/inventory/*/s3-to-sqs/*`);
    const sendToTarget = [['sqs:SendMessage', 'sqs:GetQueueUrl'], { 'Fn::GetAtt': ['TargetQueue', 'Arn'] }];
    const queueWork = [['sqs:SendMessage', 'sqs:GetQueueUrl'], { 'Fn::GetAtt': ['WorkQueue', 'Arn'] }];
    expect(actions('InventoryRole')).toEqual(
      expect.arrayContaining([
        ['s3:GetObject', sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory/inventory/*`)],
        ['s3:PutObject', runState],
        queueWork,
      ]),
    );
    expect(actions('InventoryRole')).not.toContainEqual(sendToTarget);
    expect(actions('WorkerRole')).toEqual(
      expect.arrayContaining([
        ['s3:PutObject', runState],
        sendToTarget,
        queueWork,
        [['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], { 'Fn::GetAtt': ['WorkQueue', 'Arn'] }],
      ]),
    );
    expect(roleStatements(byDefault, 'WorkerRole')).toContainEqual(
      expect.objectContaining({ Action: 's3:ListBucket', Resource: sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory`) }),
    );
    expect(actions('StatusRole').flat(3).join(' ')).not.toMatch(/PutObject|sqs:/);
    expect(actions('InventoryRole').flat(2).join(' ')).not.toMatch(/lambda:/);
    // The backfill plans a run (its claim in the run state, range tasks on the work queue); the workers list and publish.
    const listSource = ['s3:ListBucket', sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-source`)];
    expect(actions('BackfillRole')).toEqual(expect.arrayContaining([listSource, ['s3:PutObject', runState], queueWork]));
    expect(actions('WorkerRole')).toContainEqual(listSource);
    expect(actions('BackfillRole').flat(2).join(' ')).not.toMatch(/lambda:/);
    expect(actions('BackfillRole')).not.toContainEqual(sendToTarget);
    expect(actions('BackfillRole').filter(([action]) => action === 's3:GetObject')).toEqual([
      ['s3:GetObject', sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory/inventory/*`)],
    ]);
  });
});

describe('the packaged stack, existing source bucket', () => {
  it('turns the inventory on through the custom resource without creating the bucket', () => {
    expect(existingBucket.Resources.SourceBucket).toBeUndefined();
    expect(existingBucket.Resources.SourceBucketPolicy).toBeUndefined();
    expect(existingBucket.Resources.SourceBucketInventory).toMatchObject({
      Type: 'Custom::SourceBucketInventory',
      Properties: {
        ServiceToken: { 'Fn::GetAtt': ['StackSetupLambdaFunction', 'Arn'] },
        SourceBucket: 'acme-photos',
        DestinationBucketArn: sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory`),
        DestinationPrefix: 'inventory',
      },
    });
    expect(roleStatements(existingBucket, 'StackSetupRole')).toContainEqual(
      expect.objectContaining({ Action: 's3:PutInventoryConfiguration', Resource: sub('arn:${AWS::Partition}:s3:::acme-photos') }),
    );
  });

  it('points the delivery policy, the backfill and its permissions at that bucket', () => {
    expect(JSON.stringify(props(existingBucket, 'InventoryBucketPolicy'))).toContain('s3:::acme-photos');
    expect((props(existingBucket, 'BackfillLambdaFunction').Environment as { Variables: object }).Variables).toMatchObject({
      SOURCE_BUCKET: 'acme-photos',
    });
    expect(roleStatements(existingBucket, 'BackfillRole')).toContainEqual(
      expect.objectContaining({ Action: 's3:ListBucket', Resource: sub('arn:${AWS::Partition}:s3:::acme-photos') }),
    );
  });
});

describe('the packaged stack, existing queue', () => {
  const queueArn = 'arn:aws:sqs:eu-west-1:111122223333:their-objects.fifo';

  it('creates no queue and grants sending to the given one, with its KMS key', () => {
    expect(deployed(packaged.existingQueue).Resources.TargetQueue).toBeUndefined();
    expect(JSON.stringify(deployed(packaged.existingQueue).Resources.WorkerRole)).not.toContain('kms:');
    expect(existingQueue.Resources.TargetQueue).toBeUndefined();
    expect(existingQueue.Outputs.TargetQueueUrl).toBeUndefined();
    for (const role of ['WorkerRole']) {
      const statements = roleStatements(existingQueue, role);
      expect(statements).toContainEqual(expect.objectContaining({ Action: ['sqs:SendMessage', 'sqs:GetQueueUrl'], Resource: queueArn }));
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: expect.stringMatching(/^arn:aws:kms:/) }),
      );
    }
    expect((props(existingQueue, 'InventoryLambdaFunction').Environment as { Variables: object }).Variables).toMatchObject({
      QUEUE_ARN: queueArn,
    });
  });

  it('has no KMS statement when the queue needs none', () => {
    expect(JSON.stringify(byDefault.Resources.WorkerRole)).not.toContain('kms:');
  });
});

describe('the packaged stack, standard queue on request', () => {
  it('creates a standard queue', () => {
    const queue = props(standardQueue, 'TargetQueue');
    expect(queue.QueueName).toBe(`${PREFIX}-objects`);
    expect(queue).not.toHaveProperty('FifoQueue');
    expect(queue).not.toHaveProperty('DeduplicationScope');
    expect(queue).not.toHaveProperty('FifoThroughputLimit');
  });

  it('subscribes the alarm address when one is given', () => {
    expect(props(alarmEmail, 'AlarmEmailSubscription')).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});

describe('the packaged stack, a Parquet inventory', () => {
  it('configures the inventory in the format of the parameter, one of those S3 writes, CSV by default', () => {
    const format = (template: Template) => {
      const property = props(template, 'SourceBucketInventory').Format as { Ref: string };
      return template.Parameters[property.Ref];
    };
    expect(format(packaged.byDefault)).toMatchObject({ AllowedValues: ['CSV', 'Parquet', 'ORC'], Default: 'CSV' });
    expect(format(packaged.parquetInventory)).toMatchObject({ AllowedValues: ['CSV', 'Parquet', 'ORC'], Default: 'Parquet' });
  });
});

describe('the packaged stack, changed mode with message fields', () => {
  it('passes what to publish to the functions and to the inventory configuration', () => {
    const stack = deployed(packaged.changedWithFields);
    expect((props(stack, 'WorkerLambdaFunction').Environment as { Variables: object }).Variables).toMatchObject({
      PUBLISH_MODE: 'changed',
      MESSAGE_FIELDS: 'size,etag,versionId',
      CHANGED_MARGIN_HOURS: '24',
    });
    expect(props(stack, 'SourceBucketInventory')).toMatchObject({ MessageFields: 'size,etag,versionId', PublishMode: 'changed' });
    expect((props(byDefault, 'WorkerLambdaFunction').Environment as { Variables: object }).Variables).toMatchObject({
      PUBLISH_MODE: 'all',
      MESSAGE_FIELDS: '',
    });
  });
});

// Shaped as S3 sends them through EventBridge (AWS's user guide, "EventBridge event message structure").
const s3Event = (bucket: string, key: string, detailType = 'Object Created', reason = 'PutObject'): Json => ({
  version: '0',
  id: '17793124-05d4-b198-2fde-7ededc63b103',
  'detail-type': detailType,
  source: 'aws.s3',
  account: '111122223333',
  time: '2026-12-01T00:21:07Z',
  region: 'eu-west-1',
  resources: [`arn:aws:s3:::${bucket}`],
  detail: {
    version: '0',
    bucket: { name: bucket },
    object: { key, size: 2048, etag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '00617F08299329D189' },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: 's3.amazonaws.com',
    'source-ip-address': '203.0.113.15',
    reason,
  },
});

describe('the packaged stack, an adopted inventory', () => {
  const adopted = () => deployed(packaged.adoptedInventory);
  const foreign = () => deployed(packaged.adoptedFromOtherAccount);
  const rulePattern = (template: Template) => props(template, 'AdoptedManifestRule').EventPattern as Json;

  it('matches a new manifest.json under the prefix, and no data file, checksum, other bucket or deletion', () => {
    const pattern = rulePattern(adopted());
    const report = 'inventory/daily/acme-photos/daily-parquet/2026-12-01T01-00Z';
    expect(matchesPattern(pattern, s3Event('acme-inventories', `${report}/manifest.json`))).toBe(true);
    expect(matchesPattern(pattern, s3Event('acme-inventories', 'inventory/daily/acme-photos/daily-parquet/data/0a1b.parquet'))).toBe(false);
    expect(matchesPattern(pattern, s3Event('acme-inventories', `${report}/manifest.checksum`))).toBe(false);
    expect(matchesPattern(pattern, s3Event('acme-inventories', `other/acme-photos/daily/2026-12-01T01-00Z/manifest.json`))).toBe(false);
    expect(matchesPattern(pattern, s3Event('another-bucket', `${report}/manifest.json`))).toBe(false);
    expect(matchesPattern(pattern, s3Event('acme-inventories', `${report}/manifest.json`, 'Object Deleted'))).toBe(false);
    // Without a prefix, every report of the bucket.
    const anywhere = rulePattern(foreign());
    expect(matchesPattern(anywhere, s3Event('their-inventories', 'acme/daily-parquet/2026-12-01T01-00Z/manifest.json'))).toBe(true);
    expect(matchesPattern(anywhere, s3Event('their-inventories', 'acme/daily-parquet/data/x.orc'))).toBe(false);
  });

  it('targets the inventory function with retries and a dead-letter queue, allowed for that rule only', () => {
    const template = adopted();
    expect(props(template, 'AdoptedManifestRule').Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': ['InventoryLambdaFunction', 'Arn'] },
        RetryPolicy: expect.objectContaining({ MaximumRetryAttempts: expect.any(Number) }),
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['AdoptedManifestDeadLetterQueue', 'Arn'] } },
      }),
    ]);
    const permissions = Object.values(template.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Permission' && resource.Properties.Principal === 'events.amazonaws.com',
    );
    expect(permissions.map((permission) => permission.Properties)).toEqual([
      expect.objectContaining({
        FunctionName: { 'Fn::GetAtt': ['InventoryLambdaFunction', 'Arn'] },
        SourceArn: { 'Fn::GetAtt': ['AdoptedManifestRule', 'Arn'] },
      }),
    ]);
    const queuePolicy = JSON.stringify(props(template, 'AdoptedManifestDeadLetterQueuePolicy'));
    expect(queuePolicy).toContain('"aws:SourceArn":{"Fn::GetAtt":["AdoptedManifestRule","Arn"]}');
    expect(byDefault.Resources.AdoptedManifestRule).toBeUndefined();
    expect(byDefault.Resources.AdoptedBucketEventBridge).toBeUndefined();
  });

  it('grants no role anything on the adopted bucket but reading reports, and the stack setup its notification configuration', () => {
    for (const [name, template, bucket] of [
      ['adoptedInventory', adopted(), 'acme-inventories'],
      ['adoptedFromOtherAccount', foreign(), 'their-inventories'],
    ] as const) {
      const grants = grantsOn(template, bucket);
      for (const { id, action, sid, condition } of grants) {
        const notifications = id === 'StackSetupRole' ? ['s3:GetBucketNotification', 's3:PutBucketNotification'] : [];
        expect(['s3:GetObject', 's3:ListBucket', ...notifications], `${name}: ${id} ${sid}`).toContain(action);
        if (action === 's3:ListBucket') expect(condition, `${name}: ${id}`).toHaveProperty(['StringLike', 's3:prefix']);
      }
      const granted = grants.map(({ id, action }) => `${id} ${action}`);
      for (const reader of ['InventoryRole', 'WorkerRole', 'StatusRole']) expect(granted, name).toContain(`${reader} s3:GetObject`);
    }
    // The stack turns EventBridge on only in its own account; another account's owner does.
    expect([...roleStatements(foreign(), 'StackSetupRole')].map((statement) => statement.Sid)).not.toContain(
      'TurnOnAdoptedBucketEventBridge',
    );
    expect(adopted().Resources.AdoptedBucketEventBridge?.Properties).toMatchObject({ Bucket: 'acme-inventories' });
    expect(foreign().Resources.AdoptedBucketEventBridge).toBeUndefined();
    expect(props(foreign(), 'AdoptedAccountEvents')).toMatchObject({
      Statement: { Principal: { AWS: sub('arn:${AWS::Partition}:iam::444455556666:root') }, Action: 'events:PutEvents' },
    });
    expect(adopted().Resources.AdoptedAccountEvents).toBeUndefined();
  });

  it('decrypts an SSE-KMS inventory in every role that reads it, and keeps run state in the stack bucket', () => {
    const template = foreign();
    for (const reader of ['InventoryRole', 'WorkerRole', 'StatusRole']) {
      expect(roleStatements(template, reader), reader).toContainEqual(
        expect.objectContaining({
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        }),
      );
    }
    expect(roleStatements(adopted(), 'WorkerRole').map((statement) => statement.Action)).not.toContain('kms:Decrypt');
    const environment = (props(template, 'InventoryLambdaFunction').Environment as { Variables: Record<string, string> }).Variables;
    expect(environment).toMatchObject({
      RUN_STATE_BUCKET: `${PREFIX}-inventory`,
      RUN_STATE_PREFIX: 'inventory/_adopted/',
      ACCEPT_CONFIGURATION_IDS: 'daily-parquet',
    });
    expect((props(adopted(), 'InventoryLambdaFunction').Environment as { Variables: Record<string, string> }).Variables).toMatchObject({
      ACCEPT_SOURCE_BUCKETS: 'acme-photos,acme-videos',
    });
  });

  it('configures no inventory, and grants nothing for one, when createInventory is false', () => {
    expect(adopted().Resources.SourceBucketInventory).toBeUndefined();
    expect(roleStatements(adopted(), 'StackSetupRole').flatMap((statement) => asList(statement.Action))).not.toContain(
      's3:PutInventoryConfiguration',
    );
    expect(foreign().Resources.SourceBucketInventory).toBeDefined();
  });
});

describe('the packaged stack, live publishing', () => {
  const live = () => deployed(packaged.live);
  const existing = () => deployed(packaged.liveExistingBucket);

  it('adds nothing of live publishing by default', () => {
    for (const id of [
      'LiveLambdaFunction',
      'LiveRole',
      'LiveObjectRule',
      'LiveBufferQueue',
      'LiveEventSourceMapping',
      'SourceBucketEventBridge',
    ]) {
      expect(byDefault.Resources[id], id).toBeUndefined();
    }
    expect(props(byDefault, 'SourceBucket').NotificationConfiguration).toBeUndefined();
  });

  it("matches S3's Object Created events of the source bucket by each reason, and no deletion, other bucket or the stack's own", () => {
    const pattern = props(live(), 'LiveObjectRule').EventPattern as Json;
    for (const reason of ['PutObject', 'POST Object', 'CopyObject', 'CompleteMultipartUpload']) {
      expect(matchesPattern(pattern, s3Event(`${PREFIX}-source`, 'photos/a b.jpg', 'Object Created', reason)), reason).toBe(true);
    }
    expect(matchesPattern(pattern, s3Event(`${PREFIX}-source`, 'a.jpg', 'Object Deleted', 'DeleteObject'))).toBe(false);
    expect(matchesPattern(pattern, s3Event('someone-else', 'a.jpg'))).toBe(false);
    expect(matchesPattern(pattern, s3Event(`${PREFIX}-inventory`, 'inventory/_live/x.bin'))).toBe(false);
    expect(props(live(), 'SourceBucket').NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
    expect(props(existing(), 'SourceBucketEventBridge')).toMatchObject({ Bucket: 'acme-photos' });
  });

  it('buffers the events in an encrypted queue only the rule may send to, with a dead-letter queue and alarms', () => {
    const template = live();
    expect(props(template, 'LiveBufferQueue')).toMatchObject({ SqsManagedSseEnabled: true, RedrivePolicy: { maxReceiveCount: 5 } });
    const target = (props(template, 'LiveObjectRule').Targets as Json[])[0];
    expect(target).toMatchObject({
      Arn: { 'Fn::GetAtt': ['LiveBufferQueue', 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['LiveDeadLetterQueue', 'Arn'] } },
    });
    const [statement] = (props(template, 'LiveQueuesPolicy').PolicyDocument as { Statement: Json[] }).Statement;
    expect(statement).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['LiveObjectRule', 'Arn'] } } },
    });
    expect(props(template, 'LiveBacklogAlarm')).toMatchObject({ MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 300 });
    expect(props(template, 'LiveDeadLetterAlarm')).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible' });
  });

  it('feeds the live function batches of up to 10,000 events, gathered for the batching window, with partial batch responses', () => {
    expect(props(live(), 'LiveEventSourceMapping')).toMatchObject({
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const variables = (props(live(), 'LiveLambdaFunction').Environment as { Variables: Record<string, string> }).Variables;
    expect(variables).toMatchObject({
      LIVE_SOURCE_BUCKETS: `${PREFIX}-source`,
      LIVE_RECORD_PREFIX: 'inventory/_live/',
      PUBLISH_MODE: 'missed',
    });
    const actions = roleStatements(live(), 'LiveRole').map((statement) => statement.Action);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['sqs:SendMessage', 'sqs:GetQueueUrl'],
        's3:PutObject',
        ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      ]),
    );
  });
});

describe("the packaged stack, live publishing of an adopted inventory's source buckets", () => {
  const raw = () => packaged.liveAdoptedSources;
  const sources = [`${PREFIX}-source`, 'acme-photos', 'acme-videos'];
  const bucketsTurnedOn = (template: Template) =>
    Object.values(template.Resources)
      .filter((resource) => resource.Type === 'Custom::BucketEventBridge')
      .map((resource) => resource.Properties.Bucket as string)
      .sort();

  it('lets through the events of the source bucket and of each accepted one, and of no other bucket', () => {
    const pattern = props(deployed(raw()), 'LiveObjectRule').EventPattern as Json;
    for (const bucket of sources) expect(matchesPattern(pattern, s3Event(bucket, 'new/a b.jpg')), bucket).toBe(true);
    for (const bucket of [`${PREFIX}-inventory`, 'acme-inventories', 'someone-else']) {
      expect(matchesPattern(pattern, s3Event(bucket, 'new/a.jpg')), bucket).toBe(false);
    }
    const variables = (props(deployed(raw()), 'LiveLambdaFunction').Environment as { Variables: Record<string, string> }).Variables;
    expect(variables.LIVE_SOURCE_BUCKETS).toBe(sources.join(','));
  });

  it('grants the live function a HEAD and a listing of every bucket its rule lets through', () => {
    const template = deployed(raw());
    for (const bucket of sources) {
      const actions = grantsOn(template, bucket)
        .filter((grant) => grant.id === 'LiveRole')
        .map((grant) => grant.action);
      expect(actions, bucket).toEqual(expect.arrayContaining(['s3:GetObject', 's3:ListBucket']));
    }
  });

  it('turns EventBridge on for each accepted bucket of this account, the stack setup allowed its read-modify-write of each', () => {
    for (const [name, variant] of Object.entries(packaged)) {
      const template = deployed(variant);
      for (const bucket of bucketsTurnedOn(template)) {
        const actions = grantsOn(template, bucket)
          .filter((grant) => grant.id === 'StackSetupRole')
          .map((grant) => grant.action);
        expect(actions, `${name}: ${bucket}`).toEqual(expect.arrayContaining(['s3:GetBucketNotification', 's3:PutBucketNotification']));
      }
    }
    expect(bucketsTurnedOn(deployed(raw()))).toEqual(['acme-inventories', 'acme-photos', 'acme-videos']);
  });

  it("leaves another account's buckets to their owner, who forwards their events: in the rule, nothing turned on", () => {
    const template = structuredClone(raw());
    (template.Parameters.ParamAdoptInventoryAccount as Parameter).Default = '444455556666';
    const foreign = deployed(template);
    expect(bucketsTurnedOn(foreign)).toEqual([]);
    expect(roleStatements(foreign, 'StackSetupRole').map((statement) => statement.Sid)).not.toContain('TurnOnLiveSourceBucketsEventBridge');
    const pattern = props(foreign, 'LiveObjectRule').EventPattern as Json;
    for (const bucket of sources) expect(matchesPattern(pattern, s3Event(bucket, 'a.jpg')), bucket).toBe(true);
    expect(props(foreign, 'AdoptedAccountEvents')).toMatchObject({ Statement: { Action: 'events:PutEvents' } });
  });
});

describe('what operators see', () => {
  it('has a dashboard of publishing, failures, workers, queues and run duration, and its URL as an output', () => {
    const body =
      (byDefault.Resources.Dashboard?.Properties.DashboardBody as { 'Fn::Sub': [string, Json] } | undefined)?.['Fn::Sub'][0] ?? '';
    // The body is JSON once CloudFormation has put the names in.
    const widgets = (JSON.parse(body.replace(/\$\{[^}]+\}/g, 'x')) as { widgets: Array<{ properties: { metrics: Json[][] } }> }).widgets;
    const metricNames = widgets.flatMap((widget) => widget.properties.metrics.map((metric) => `${metric[0]} ${metric[1]}`));
    expect(metricNames).toEqual(
      expect.arrayContaining([
        's3-to-sqs Published',
        's3-to-sqs Failed',
        's3-to-sqs Retried',
        'AWS/Lambda Invocations',
        'AWS/Lambda ConcurrentExecutions',
        'AWS/SQS ApproximateNumberOfMessagesVisible',
        'AWS/SQS ApproximateAgeOfOldestMessage',
        's3-to-sqs RunDurationSeconds',
      ]),
    );
    expect(body).toContain('"service", "s3-to-sqs", "stage", "test"');
    expect(JSON.stringify(byDefault.Outputs.DashboardUrl)).toContain('#dashboards:name=${Dashboard}');
  });

  it('alarms on the same topic when a run reports failed keys', () => {
    expect(props(byDefault, 'FailedKeysAlarm')).toMatchObject({
      Namespace: 's3-to-sqs',
      MetricName: 'Failed',
      Dimensions: [
        { Name: 'service', Value: 's3-to-sqs' },
        { Name: 'stage', Value: 'test' },
      ],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
    expect((props(byDefault, 'WorkerLambdaFunction').Environment as { Variables: Record<string, Json> }).Variables.STAGE).toBe('test');
  });
});

/** What AWS refuses or silently breaks on deploy, checked on every documented variant. */
describe('rules of real AWS, on every variant', () => {
  const each = () => Object.entries(packaged).map(([name, template]) => [name, deployed(template)] as const);
  const ofType = (template: Template, type: string) => Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
  const getAttTarget = (value: Json): string | undefined =>
    ((value as { 'Fn::GetAtt'?: [string, string] } | null)?.['Fn::GetAtt'] ?? [])[0];
  const literalStrings = (value: Json): string[] => (typeof value === 'string' ? [value] : []);

  it("keeps every function's environment within Lambda's 4 KB and every rule's pattern within EventBridge's 2,048 characters", () => {
    for (const [name, template] of each()) {
      for (const [id, fn] of ofType(template, 'AWS::Lambda::Function')) {
        const variables = (fn.Properties.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {};
        const size = Object.entries(variables).reduce((total, [key, value]) => total + key.length + JSON.stringify(value).length, 0);
        expect(size, `${name}: ${id}`).toBeLessThanOrEqual(4096);
      }
      for (const [id, rule] of ofType(template, 'AWS::Events::Rule')) {
        expect(JSON.stringify(rule.Properties.EventPattern).length, `${name}: ${id}`).toBeLessThanOrEqual(EVENT_PATTERN_LIMIT);
      }
    }
    expect(props(deployed(packaged.liveAdoptedSources), 'LiveObjectRule').EventPattern).toEqual(
      liveEventPattern([`${PREFIX}-source`, 'acme-photos', 'acme-videos']),
    );
  });

  it('gives every queue that triggers a function a visibility timeout of at least the function timeout', () => {
    for (const [name, template] of each()) {
      const mappings = ofType(template, 'AWS::Lambda::EventSourceMapping');
      expect(mappings.length, name).toBeGreaterThan(0);
      for (const [id, mapping] of mappings) {
        const queue = template.Resources[getAttTarget(mapping.Properties.EventSourceArn ?? null) ?? ''];
        const fn = template.Resources[getAttTarget(mapping.Properties.FunctionName ?? null) ?? ''];
        if (queue?.Type !== 'AWS::SQS::Queue') continue;
        // SQS's default visibility timeout is 30 s; Lambda's default timeout as osls writes it, 6 s.
        const visibility = (queue.Properties.VisibilityTimeout as number | undefined) ?? 30;
        expect(visibility, `${name}: ${id}`).toBeGreaterThanOrEqual((fn?.Properties.Timeout as number | undefined) ?? 6);
      }
    }
  });

  it('lets alarms reach their topics: no topic an alarm notifies uses the AWS-managed SNS key', () => {
    for (const [name, template] of each()) {
      const alarms = ofType(template, 'AWS::CloudWatch::Alarm');
      expect(alarms.length, name).toBeGreaterThan(0);
      for (const [id, alarm] of alarms) {
        const actions = ['AlarmActions', 'OKActions', 'InsufficientDataActions'].flatMap((key) => asList(alarm.Properties[key] ?? []));
        expect(actions.length, `${name}: ${id}`).toBeGreaterThan(0);
        for (const action of actions) {
          const topic = template.Resources[(action as { Ref?: string }).Ref ?? ''];
          expect(topic?.Type, `${name}: ${id}`).toBe('AWS::SNS::Topic');
          const key = topic?.Properties.KmsMasterKeyId;
          // A customer-managed key would need a policy that admits CloudWatch; the stack uses none.
          expect(key === undefined || !/alias\/aws\//.test(JSON.stringify(key)), `${name}: ${id} → ${JSON.stringify(key)}`).toBe(true);
          if (key !== undefined) {
            const policy = JSON.stringify(template.Resources[(key as { Ref?: string }).Ref ?? '']?.Properties.KeyPolicy ?? null);
            expect(policy, `${name}: ${id}`).toMatch(/cloudwatch\.amazonaws\.com/);
          }
        }
      }
    }
  });

  it('blocks public access on every bucket, the deployment bucket included', () => {
    for (const [name, template] of each()) {
      const buckets = ofType(template, 'AWS::S3::Bucket');
      expect(
        buckets.map(([id]) => id),
        name,
      ).toContain('ServerlessDeploymentBucket');
      for (const [id, bucket] of buckets) {
        expect(bucket.Properties.PublicAccessBlockConfiguration, `${name}: ${id}`).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
      }
    }
  });

  it('lets every role that reads run state list the inventory bucket, unconditionally, so missing keys read as 404', () => {
    for (const [name, template] of each()) {
      const inventoryBucket = JSON.stringify(template.Resources.InventoryBucket?.Properties.BucketName);
      const readers = ofType(template, 'AWS::IAM::Role').filter(([id]) =>
        roleStatements(template, id).some(
          (statement) =>
            asList(statement.Action).includes('s3:GetObject') &&
            JSON.stringify(statement.Resource).includes(`s3:::${JSON.parse(inventoryBucket)}/`),
        ),
      );
      expect(readers.length, name).toBeGreaterThanOrEqual(4);
      for (const [id] of readers) {
        expect(
          roleStatements(template, id).filter(
            (statement) =>
              statement.Effect === 'Allow' &&
              asList(statement.Action).includes('s3:ListBucket') &&
              statement.Condition === undefined &&
              JSON.stringify(statement.Resource).endsWith(`s3:::${JSON.parse(inventoryBucket)}"}`),
          ),
          `${name}: ${id}`,
        ).toHaveLength(1);
      }
    }
  });

  it('keeps every name within AWS limits', () => {
    const limits: Record<string, [property: string, max: number, pattern: RegExp]> = {
      'AWS::S3::Bucket': ['BucketName', 63, /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/],
      'AWS::SQS::Queue': ['QueueName', 80, /^[A-Za-z0-9_-]+(\.fifo)?$/],
      'AWS::Lambda::Function': ['FunctionName', 64, /^[A-Za-z0-9_-]+$/],
      'AWS::SNS::Topic': ['TopicName', 256, /^[A-Za-z0-9_-]+$/],
      'AWS::CloudWatch::Alarm': ['AlarmName', 255, /^[ -~]+$/],
      'AWS::Logs::LogGroup': ['LogGroupName', 512, /^[\w\-./#]+$/],
      'AWS::IAM::Role': ['RoleName', 64, /^[\w+=,.@-]+$/],
    };
    let checked = 0;
    for (const [name, template] of each()) {
      for (const [type, [property, max, pattern]] of Object.entries(limits)) {
        for (const [id, resource] of ofType(template, type)) {
          for (const value of literalStrings(resource.Properties[property] ?? null)) {
            expect(value.length, `${name}: ${id} ${value}`).toBeLessThanOrEqual(max);
            expect(value, `${name}: ${id}`).toMatch(pattern);
            checked += 1;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(packaged.longNames.Resources.InventoryBucket?.Properties.BucketName).toBe('s3-to-sqs-production-ap-southeast-2-inventory');
  });

  it('checks the parameters before anything is created: queue and key in the stack region, an address', () => {
    const parameters = packaged.byDefault.Parameters;
    const accepts = (name: string, value: string) => new RegExp(parameters[name]?.AllowedPattern ?? '(?!)').test(value);
    expect(accepts('ParamQueueArn', '')).toBe(true);
    expect(accepts('ParamQueueArn', 'arn:aws:sqs:eu-west-1:111122223333:objects.fifo')).toBe(true);
    expect(accepts('ParamQueueArn', 'arn:aws:sqs:us-east-1:111122223333:objects.fifo')).toBe(false);
    expect(accepts('ParamQueueKmsKeyArn', 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab')).toBe(true);
    expect(accepts('ParamQueueKmsKeyArn', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab')).toBe(false);
    expect(accepts('ParamAlarmEmail', 'ops@example.com')).toBe(true);
    expect(accepts('ParamAlarmEmail', 'ops')).toBe(false);
    expect(parameters.ParamCreateSourceBucket).toMatchObject({ AllowedValues: ['true', 'false'], Default: 'true' });
    expect(packaged.existingBucket.Parameters.ParamCreateSourceBucket?.Default).toBe('false');
  });

  it('lets no role write an object that would trigger the inventory function', () => {
    for (const [name, template] of each()) {
      const inventoryBucket = props(template, 'InventoryBucket');
      const bucket = inventoryBucket.BucketName as string;
      const trigger = (
        inventoryBucket.NotificationConfiguration as {
          LambdaConfigurations: Array<{ Filter: { S3Key: { Rules: Array<{ Name: string; Value: string }> } } }>;
        }
      ).LambdaConfigurations[0]?.Filter.S3Key.Rules;
      const rule = (kind: string) => trigger?.find((item) => item.Name === kind)?.Value ?? '';
      // A key the trigger fires on, in the run-state folder every writer may write to.
      const triggering = `${rule('prefix')}src/config/2026-12-01T00-00Z/s3-to-sqs/x${rule('suffix')}`;
      for (const [id] of ofType(template, 'AWS::IAM::Role')) {
        const statements = roleStatements(template, id);
        const matches = (statement: (typeof statements)[number]) =>
          asList(statement.Action).includes('s3:PutObject') &&
          asList(statement.Resource).some((resource) => globMatches(subText(resource), `arn:aws:s3:::${bucket}/${triggering}`));
        if (!statements.some((statement) => statement.Effect === 'Allow' && matches(statement))) continue;
        expect(
          statements.some((statement) => statement.Effect === 'Deny' && matches(statement)),
          `${name}: ${id} may write ${triggering}`,
        ).toBe(true);
      }
    }
  });

  /** The template parameters that set a function variable, and the factor from one to the other. */
  const VARIABLE_PARAMETERS: Record<string, [variable: keyof typeof LIMITS, factor: number]> = {
    ParamConcurrency: ['CONCURRENCY', 1],
    ParamFifoMessageGroups: ['FIFO_MESSAGE_GROUPS', 1],
    ParamShardRows: ['SHARD_ROWS', 1],
    ParamCheckpointSeconds: ['CHECKPOINT_INTERVAL_MS', 1000],
    ParamChangedMarginHours: ['CHANGED_MARGIN_HOURS', 1],
    ParamMaxMessagesPerSecond: ['MAX_MESSAGES_PER_SECOND', 1],
    ParamWorkerConcurrency: ['WORKER_CONCURRENCY', 1],
  };

  it('sets every bounded variable of every function from a number parameter bounded within what the function accepts', () => {
    let checked = 0;
    for (const [name, template] of each()) {
      for (const [id, fn] of ofType(template, 'AWS::Lambda::Function')) {
        const variables = (fn.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {};
        for (const [variable, value] of Object.entries(variables).filter(([key]) => key in LIMITS)) {
          const entry = Object.entries(VARIABLE_PARAMETERS).find(([, [bounded]]) => bounded === variable);
          expect(entry, `${name}: ${id} ${variable} has no bounded parameter`).toBeDefined();
          const [parameterName, [, factor]] = entry as [string, [keyof typeof LIMITS, number]];
          const parameter = template.Parameters[parameterName];
          const [min, max] = LIMITS[variable as keyof typeof LIMITS];
          expect(parameter, `${name}: ${parameterName}`).toMatchObject({ Type: 'Number' });
          expect((parameter?.MinValue as number) * factor, `${name}: ${parameterName}`).toBeGreaterThanOrEqual(min);
          expect((parameter?.MaxValue as number) * factor, `${name}: ${parameterName}`).toBeLessThanOrEqual(max);
          // The function's value is the parameter's: the same serverless param feeds both.
          expect(Number(value), `${name}: ${id} ${variable}`).toBe(Number(parameter?.Default) * factor);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('refuses out-of-range settings by the parameters themselves, before anything is created', () => {
    const { Parameters } = packaged.byDefault;
    const refused = (name: string, value: string) => parameterProblem(Parameters[name] as Parameter, value);
    for (const [name, good, bad] of [
      ['ParamWorkerConcurrency', ['2', '10', '1000'], ['1', '1001', 'ten']],
      ['ParamConcurrency', ['1', '512'], ['0', '513']],
      ['ParamShardRows', ['1000', '20000000'], ['999', '1000000001']],
      ['ParamCheckpointSeconds', ['1', '600'], ['0', '601']],
      ['ParamFifoMessageGroups', ['1', '1000000'], ['0', '1000001']],
      ['ParamChangedMarginHours', ['0', '720'], ['-1', '721']],
      ['ParamMaxMessagesPerSecond', ['0', '2000', '1000000'], ['-1', '1000001']],
      ['ParamReportRetentionDays', ['1', '3650'], ['0', '3651']],
      ['ParamLogRetentionDays', ['1', '30', '3653'], ['2', '31']],
    ] as const) {
      for (const value of good) expect(refused(name, value), `${name}=${value}`).toBeUndefined();
      for (const value of bad) expect(refused(name, value), `${name}=${value}`).toBeDefined();
    }
    // Where a resource can take the parameter, it does.
    for (const [name, template] of each()) {
      expect(template.Resources.WorkerEventSourceMappingSQSWorkQueue?.Properties.ScalingConfig, name).toEqual({
        MaximumConcurrency: Number(template.Parameters.ParamWorkerConcurrency?.Default),
      });
      expect(JSON.stringify(template.Resources.InventoryBucket?.Properties.LifecycleConfiguration), name).toContain(
        `"ExpirationInDays":${JSON.stringify(template.Parameters.ParamReportRetentionDays?.Default)}`,
      );
    }
    expect(packaged.byDefault.Resources.WorkerEventSourceMappingSQSWorkQueue?.Properties.ScalingConfig).toEqual({
      MaximumConcurrency: { Ref: 'ParamWorkerConcurrency' },
    });
  });

  it('refuses at package time a stage that would make an invalid bucket name, naming it', async () => {
    for (const [stage, problem] of [
      ['Prod', 'may hold only lower-case letters, digits, dots and hyphens'],
      ['a-stage-name-far-too-long-for-s3-x', 'has 64 characters, not 3 to 63'],
    ]) {
      await expect(sls(['package', '--stage', stage as string, '--region', 'eu-west-1'])).rejects.toMatchObject({
        stdout: expect.stringContaining(`(from stage "${stage}" and namePrefix) ${problem}`),
      });
    }
  }, 300_000);

  it('refuses at package time live publishing with a field or filter an S3 event cannot serve, naming it', async () => {
    await expect(
      sls(['package', '--stage', 'test', '--region', 'eu-west-1', '--param=live=true', '--param=messageFields=size,storageClass']),
    ).rejects.toMatchObject({
      stdout: expect.stringContaining('live=true: MESSAGE_FIELDS storageClass: an S3 event carries no storage class'),
    });
  }, 300_000);

  it('refuses at package time an accepted source bucket that cannot be a bucket name, naming it', async () => {
    const adopt = ['--param=adoptInventoryBucket=acme-inventories', '--param=acceptSourceBuckets=acme-photos,Acme Videos'];
    await expect(sls(['package', '--stage', 'test', '--region', 'eu-west-1', ...adopt])).rejects.toMatchObject({
      stdout: expect.stringContaining('acceptSourceBuckets names "Acme Videos", which is no bucket name'),
    });
  }, 300_000);
});

describe('sls invoke local -f backfill', () => {
  it('plans a run of a seeded bucket on the emulator named by AWS_ENDPOINT_URL: the queue and bucket of the stack, found by name', async () => {
    await aws.createBucket('local-photos');
    await seedBucket(aws.s3, 'local-photos', { count: 150 });
    // The work queue and the bucket the stack would create, found by their names as in Lambda.
    const workQueueUrl = await aws.createQueue('s3-to-sqs-test-us-east-1-work');
    await aws.createBucket('s3-to-sqs-test-us-east-1-inventory');
    const { stdout } = await sls(
      ['invoke', 'local', '-f', 'backfill', '--stage', 'test', '--region', 'us-east-1', '--param=sourceBucket=local-photos'],
      { AWS_ENDPOINT_URL: aws.emulator.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', POWERTOOLS_LOG_LEVEL: 'WARN' },
    );
    const lines = stdout.split('\n');
    const result = JSON.parse(lines.slice(lines.lastIndexOf('{')).join('\n'));
    expect(result).toMatchObject({ bucket: 'local-photos', status: 'started', ranges: 17 });
    expect(result.stateLocation).toMatch(
      /^s3:\/\/s3-to-sqs-test-us-east-1-inventory\/inventory\/_backfill\/local-photos\/[^/]+\/s3-to-sqs\/$/,
    );
    expect(await aws.drain(workQueueUrl)).toHaveLength(17);
  }, 300_000);
});
