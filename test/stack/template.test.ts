import { beforeAll, describe, expect, it } from 'vitest';
import { createFifoQueue } from '../../lib/local/demo.ts';
import { seedBucket } from '../../lib/local/sample-objects.ts';
import { asList, deployed, packageTemplate, roleStatements, sls, type Json, type Template } from '../support/cloudformation.ts';
import { useEmulator } from '../support/emulator.ts';

const aws = useEmulator();

// Packaging runs esbuild in the project folder: the variants are built one after another.
let byDefault: Template;
let existingBucket: Template;
let existingQueue: Template;
let standardQueue: Template;

beforeAll(async () => {
  byDefault = deployed(await packageTemplate());
  existingBucket = deployed(await packageTemplate({ sourceBucket: 'acme-photos' }));
  existingQueue = deployed(
    await packageTemplate({
      queueArn: 'arn:aws:sqs:eu-west-1:111122223333:their-objects.fifo',
      queueKmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    }),
  );
  standardQueue = deployed(await packageTemplate({ queueType: 'standard', alarmEmail: 'ops@example.com' }));
}, 180_000);

const PREFIX = 's3-to-sqs-test-eu-west-1';
const sub = (text: string) => ({ 'Fn::Sub': text });
const props = (template: Template, id: string) => {
  const resource = template.Resources[id];
  if (!resource) throw new Error(`${id} is not in the template`);
  return resource.Properties;
};

describe('the packaged stack, default parameters', () => {
  it('creates the source bucket, kept on removal, with a daily CSV inventory of current versions', () => {
    const bucket = byDefault.Resources.SourceBucket;
    expect(bucket?.DeletionPolicy).toBe('Retain');
    expect(bucket?.Properties).toMatchObject({
      BucketName: `${PREFIX}-source`,
      InventoryConfigurations: [
        {
          Enabled: true,
          IncludedObjectVersions: 'Current',
          ScheduleFrequency: 'Daily',
          Destination: { Format: 'CSV', Prefix: 'inventory', BucketArn: sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory`) },
        },
      ],
    });
    expect(byDefault.Resources.SourceBucketInventory).toBeUndefined();
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
        Condition: {
          ArnLike: { 'aws:SourceArn': sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-source`) },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' }, 's3:x-amz-acl': 'bucket-owner-full-control' },
        },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
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
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'inventory/' }, { Name: 'suffix', Value: 'manifest.json' }] } },
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
      ['InventoryLambdaFunction', 60, 512],
      ['WorkerLambdaFunction', 900, 1769],
      ['DeadLetterLambdaFunction', 60, 256],
      ['StatusLambdaFunction', 60, 256],
      ['BackfillLambdaFunction', 900, 1769],
      ['StackSetupLambdaFunction', 600, 256],
    ] as const) {
      const fn = props(byDefault, id);
      expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: timeout, MemorySize: memory });
      const variables = (fn.Environment as { Variables: Record<string, Json> }).Variables;
      for (const value of Object.values(variables)) expect(typeof value).toBe('string');
    }
    expect((props(byDefault, 'BackfillLambdaFunction').Environment as { Variables: object }).Variables).toMatchObject({
      QUEUE_NAME: `${PREFIX}-objects.fifo`,
      QUEUE_ARN: '',
      SOURCE_BUCKET: `${PREFIX}-source`,
    });
    for (const group of ['InventoryLogGroup', 'WorkerLogGroup', 'DeadLetterLogGroup', 'StatusLogGroup', 'BackfillLogGroup', 'StackSetupLogGroup']) {
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
    expect(roles.map(([id]) => id).sort()).toEqual(['BackfillRole', 'DeadLetterRole', 'InventoryRole', 'StackSetupRole', 'StatusRole', 'WorkerRole']);
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
      expect.arrayContaining([['s3:GetObject', sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-inventory/inventory/*`)], ['s3:PutObject', runState], queueWork]),
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
      expect.objectContaining({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': 'inventory/*/s3-to-sqs/*' } } }),
    );
    expect(actions('StatusRole').flat(3).join(' ')).not.toMatch(/PutObject|sqs:/);
    expect(actions('InventoryRole').flat(2).join(' ')).not.toMatch(/lambda:/);
    expect(actions('BackfillRole')).toEqual(
      expect.arrayContaining([
        ['s3:ListBucket', sub(`arn:\${AWS::Partition}:s3:::${PREFIX}-source`)],
        ['lambda:InvokeFunction', sub(`arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:s3-to-sqs-test-backfill`)],
      ]),
    );
    expect(actions('BackfillRole').flat(2).join(' ')).not.toMatch(/s3:GetObject/);
  });
});

describe('the packaged stack, existing source bucket', () => {
  it('turns the inventory on through the custom resource instead of creating the bucket', () => {
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
    expect(existingQueue.Resources.TargetQueue).toBeUndefined();
    expect(existingQueue.Outputs.TargetQueueUrl).toBeUndefined();
    for (const role of ['WorkerRole', 'BackfillRole']) {
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
  it('creates a standard queue and subscribes the alarm address', () => {
    const queue = props(standardQueue, 'TargetQueue');
    expect(queue.QueueName).toBe(`${PREFIX}-objects`);
    expect(queue).not.toHaveProperty('FifoQueue');
    expect(queue).not.toHaveProperty('DeduplicationScope');
    expect(props(standardQueue, 'AlarmEmailSubscription')).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});

describe('sls invoke local -f backfill', () => {
  it('publishes a seeded bucket on the emulator named by AWS_ENDPOINT_URL', async () => {
    await aws.createBucket('local-photos');
    await seedBucket(aws.s3, 'local-photos', { count: 150 });
    // The queue the stack would create, found by its name as in Lambda.
    const queueUrl = await createFifoQueue(aws.sqs, 's3-to-sqs-test-us-east-1-objects.fifo');
    const { stdout } = await sls(
      ['invoke', 'local', '-f', 'backfill', '--stage', 'test', '--region', 'us-east-1', '--param=sourceBucket=local-photos'],
      { AWS_ENDPOINT_URL: aws.emulator.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', POWERTOOLS_LOG_LEVEL: 'WARN' },
    );
    const lines = stdout.split('\n');
    const result = JSON.parse(lines.slice(lines.lastIndexOf('{')).join('\n'));
    expect(result).toMatchObject({ bucket: 'local-photos', done: true, published: 150, failed: 0 });
    expect(await aws.drain(queueUrl)).toHaveLength(150);
  }, 120_000);
});
