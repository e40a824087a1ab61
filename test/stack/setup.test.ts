import { loadSelection } from '../../lib/core/config.ts';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GetBucketNotificationConfigurationCommand,
  type NotificationConfiguration,
  PutBucketNotificationConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBucket } from '../../lib/local/sample-objects.ts';
import { sls } from '../../lib/local/stack-package.ts';
import { assertBucketInRegion } from '../../lib/stack/bucket-region.ts';
import { deleteInventoryConfiguration, putInventoryConfiguration, reportContents } from '../../lib/stack/inventory-configuration.ts';
import { putObject, silentLog, useEmulator } from '../support/emulator.ts';

const aws = useEmulator();
let handler: typeof import('../../handlers/stack-setup.ts').handler;

/** Records HTTP requests and answers them: CloudFormation's response URL, or S3 where the emulator has no such API. */
interface Recorder {
  url: string;
  requests: Array<{ method: string; path: string; headers: IncomingMessage['headers']; body: string }>;
  server: Server;
}
async function recorder(status = 200, headers: Record<string, string> = {}): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  const server = createServer(async (request, response) => {
    const body = Buffer.concat(await request.toArray()).toString('utf8');
    requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body });
    response.writeHead(status, headers).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

let cloudFormation: Recorder;

beforeAll(async () => {
  cloudFormation = await recorder();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../handlers/stack-setup.ts'));
});
afterAll(() => cloudFormation.server.close());

function event(
  type: string,
  request: 'Create' | 'Update' | 'Delete',
  properties: Record<string, string>,
  physicalId = 'physical-1',
): CloudFormationCustomResourceEvent {
  return {
    RequestType: request,
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:s3-to-sqs-test-stackSetup',
    ResponseURL: `${cloudFormation.url}/response?signature=abc`,
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/s3-to-sqs-test/1',
    RequestId: `request-${cloudFormation.requests.length}`,
    LogicalResourceId: 'Resource',
    ResourceType: type,
    ResourceProperties: { ServiceToken: 'token', ...properties },
    ...(request === 'Create' ? {} : { PhysicalResourceId: physicalId, OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}
/** The bucket and configuration id of an S3 `?inventory` call, path-style. */
function inventoryCall(path = ''): { bucket: string; id: string | null } | undefined {
  const url = new URL(path, 'http://s3');
  if (!url.searchParams.has('inventory')) return undefined;
  return { bucket: url.pathname.replaceAll('/', ''), id: url.searchParams.get('id') };
}
const lastResponse = () => JSON.parse(cloudFormation.requests.at(-1)?.body ?? '{}');

describe('stack setup custom resources', () => {
  it('empties the inventory bucket when the stack is removed, and tells CloudFormation', async () => {
    await aws.createBucket('setup-reports');
    await seedBucket(aws.s3, 'setup-reports', { count: 2_345 });
    await putObject(aws.s3, 'setup-reports', 'inventory/a b/manifest.json', '{}');
    await handler(event('Custom::EmptyBucketOnDelete', 'Delete', { Bucket: 'setup-reports' }));
    expect(cloudFormation.requests.at(-1)).toMatchObject({ method: 'PUT', path: '/response?signature=abc' });
    expect(lastResponse()).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'empty-on-delete/setup-reports',
      LogicalResourceId: 'Resource',
    });
    const { Contents } = await aws.s3.send(new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({ Bucket: 'setup-reports' }));
    expect(Contents ?? []).toHaveLength(0);
  });

  it('leaves the bucket alone on create', async () => {
    await aws.createBucket('setup-kept');
    await putObject(aws.s3, 'setup-kept', 'report.csv.gz', 'x');
    await handler(event('Custom::EmptyBucketOnDelete', 'Create', { Bucket: 'setup-kept' }));
    expect(lastResponse().Status).toBe('SUCCESS');
    const { Contents } = await aws.s3.send(new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({ Bucket: 'setup-kept' }));
    expect(Contents).toHaveLength(1);
  });

  it('reports a failure to CloudFormation instead of leaving it waiting', async () => {
    await handler(event('Custom::SourceBucketInventory', 'Create', { SourceBucket: 'photos' }));
    expect(lastResponse()).toMatchObject({ Status: 'FAILED', Reason: 'property ConfigurationId is required' });
    await handler(event('Custom::Unknown', 'Create', {}));
    expect(lastResponse()).toMatchObject({ Status: 'FAILED', Reason: 'unknown custom resource type Custom::Unknown' });
  });
});

describe('EventBridge delivery of an adopted inventory bucket (against the emulator)', () => {
  const theirs: NotificationConfiguration = {
    QueueConfigurations: [
      { Id: 'their-queue', QueueArn: 'arn:aws:sqs:us-east-1:111122223333:their-uploads', Events: ['s3:ObjectCreated:*'] },
    ],
    LambdaFunctionConfigurations: [
      {
        Id: 'their-function',
        LambdaFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:thumbnails',
        Events: ['s3:ObjectRemoved:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'images/' }] } },
      },
    ],
    TopicConfigurations: [{ Id: 'their-topic', TopicArn: 'arn:aws:sns:us-east-1:111122223333:audit', Events: ['s3:ObjectCreated:Put'] }],
  };
  const read = async (bucket: string) => {
    const { $metadata: _, ...configuration } = await aws.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    return configuration;
  };
  const owned = async (bucket: string, configuration: NotificationConfiguration) => {
    await aws.createBucket(bucket);
    await aws.s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: configuration }));
  };

  it('turns it on keeping every other notification, and off again on delete only because it turned it on', async () => {
    await owned('adopted-a', theirs);
    await handler(event('Custom::BucketEventBridge', 'Create', { Bucket: 'adopted-a' }));
    expect(lastResponse()).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'eventbridge/adopted-a/turned-on' });
    expect(await read('adopted-a')).toEqual({ ...theirs, EventBridgeConfiguration: {} });

    await handler(event('Custom::BucketEventBridge', 'Update', { Bucket: 'adopted-a' }, 'eventbridge/adopted-a/turned-on'));
    expect(lastResponse()).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'eventbridge/adopted-a/turned-on' });
    expect(await read('adopted-a')).toEqual({ ...theirs, EventBridgeConfiguration: {} });

    await handler(event('Custom::BucketEventBridge', 'Delete', { Bucket: 'adopted-a' }, 'eventbridge/adopted-a/turned-on'));
    expect(lastResponse().Status).toBe('SUCCESS');
    expect(await read('adopted-a')).toEqual(theirs);
  });

  it('leaves delivery on when it was on before, through an update to another bucket and the delete', async () => {
    await owned('adopted-b', { ...theirs, EventBridgeConfiguration: {} });
    await owned('adopted-c', {});
    await handler(event('Custom::BucketEventBridge', 'Create', { Bucket: 'adopted-b' }));
    expect(lastResponse()).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'eventbridge/adopted-b/was-on' });
    // Another bucket: a new physical id, so that CloudFormation deletes the old resource.
    await handler(event('Custom::BucketEventBridge', 'Update', { Bucket: 'adopted-c' }, 'eventbridge/adopted-b/was-on'));
    expect(lastResponse()).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'eventbridge/adopted-c/turned-on' });
    expect(await read('adopted-c')).toEqual({ EventBridgeConfiguration: {} });
    await handler(event('Custom::BucketEventBridge', 'Delete', { Bucket: 'adopted-b' }, 'eventbridge/adopted-b/was-on'));
    expect(lastResponse().Status).toBe('SUCCESS');
    expect(await read('adopted-b')).toEqual({ ...theirs, EventBridgeConfiguration: {} });
  });

  it('fails a create on a bucket it cannot reach with its name, and lets a rollback delete it', async () => {
    await handler(event('Custom::BucketEventBridge', 'Create', { Bucket: 'adopted-missing' }));
    expect(lastResponse()).toMatchObject({ Status: 'FAILED', Reason: 'adopted inventory bucket "adopted-missing" does not exist' });
    // The rollback's Delete: with the id of the failed create, and with one that names a gone bucket.
    await handler(event('Custom::BucketEventBridge', 'Delete', { Bucket: 'adopted-missing' }, lastResponse().PhysicalResourceId));
    expect(lastResponse().Status).toBe('SUCCESS');
    await handler(event('Custom::BucketEventBridge', 'Delete', { Bucket: 'adopted-missing' }, 'eventbridge/adopted-missing/turned-on'));
    expect(lastResponse().Status).toBe('SUCCESS');
    // The bucket is named by what the stack uses it for.
    await handler(event('Custom::BucketEventBridge', 'Create', { Bucket: 'accepted-missing', Purpose: 'live source bucket' }));
    expect(lastResponse()).toMatchObject({ Status: 'FAILED', Reason: 'live source bucket "accepted-missing" does not exist' });
  });
});

const clientAt = (url: string, maxAttempts = 3) =>
  new S3Client({
    endpoint: url,
    forcePathStyle: true,
    region: 'us-east-1',
    maxAttempts,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });

const PROD = {
  sourceBucket: 'acme-photos',
  configurationId: 's3-to-sqs-prod',
  destinationBucketArn: 'arn:aws:s3:::acme-inventory',
  destinationPrefix: 'inventory',
  destinationAccountId: '111122223333',
};

describe('inventory configuration of an existing bucket', () => {
  // The emulator has no bucket-configuration APIs: an HTTP server stands in for S3 here.
  let s3: Recorder;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await recorder();
    client = new S3Client({
      endpoint: s3.url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
  });
  afterAll(() => s3.server.close());

  it('puts a daily CSV inventory of current versions into the inventory bucket under the prefix', async () => {
    await putInventoryConfiguration(client, PROD);
    const request = s3.requests.at(-1);
    expect(request?.method).toBe('PUT');
    expect(inventoryCall(request?.path)).toEqual({ bucket: 'acme-photos', id: 's3-to-sqs-prod' });
    const xml = request?.body ?? '';
    for (const element of [
      '<Id>s3-to-sqs-prod</Id>',
      '<IsEnabled>true</IsEnabled>',
      '<IncludedObjectVersions>Current</IncludedObjectVersions>',
      '<Frequency>Daily</Frequency>',
      '<Format>CSV</Format>',
      '<Bucket>arn:aws:s3:::acme-inventory</Bucket>',
      '<Prefix>inventory</Prefix>',
      '<AccountId>111122223333</AccountId>',
    ]) {
      expect(xml).toContain(element);
    }
    expect(xml).not.toContain('<OptionalFields>');
  });

  it.each(['Parquet', 'ORC'] as const)('puts a %s inventory when the stack asks for one', async (format) => {
    await putInventoryConfiguration(client, { ...PROD, format });
    expect(s3.requests.at(-1)?.body).toContain(`<Format>${format}</Format>`);
  });

  it('adds the optional fields and versions that the messages and the publish mode need', async () => {
    expect(reportContents({ readFields: [], publishMode: 'all' })).toEqual({ optionalFields: [], includedObjectVersions: 'Current' });
    expect(reportContents({ readFields: ['size', 'versionId', 'storageClass'], publishMode: 'changed' })).toEqual({
      optionalFields: ['Size', 'StorageClass', 'LastModifiedDate'],
      includedObjectVersions: 'All',
    });
    // S3-event messages: what the event tells of each object, whatever MESSAGE_FIELDS says.
    expect(reportContents(loadSelection({ MESSAGE_FORMAT: 's3-event' }))).toEqual({
      optionalFields: ['Size', 'ETag', 'LastModifiedDate'],
      includedObjectVersions: 'Current',
    });
    await putInventoryConfiguration(client, { ...PROD, selection: { readFields: ['etag'], publishMode: 'changed' } });
    const xml = s3.requests.at(-1)?.body ?? '';
    expect(xml).toContain('<OptionalFields><Field>ETag</Field><Field>LastModifiedDate</Field></OptionalFields>');
    expect(xml).toContain('<IncludedObjectVersions>Current</IncludedObjectVersions>');
  });

  it('refuses a prefix ending in a slash', async () => {
    await expect(
      putInventoryConfiguration(client, {
        sourceBucket: 'b',
        configurationId: 'c',
        destinationBucketArn: 'arn:aws:s3:::d',
        destinationPrefix: 'inventory/',
        destinationAccountId: '1',
      }),
    ).rejects.toThrow('inventory prefix "inventory/" must not end with "/"');
  });

  it('deletes it; one gone or out of reach is left, logged, so that an update, rollback or removal goes on', async () => {
    await expect(deleteInventoryConfiguration(client, 'acme-photos', 's3-to-sqs-prod', silentLog)).resolves.toBe(true);
    expect(s3.requests.at(-1)?.method).toBe('DELETE');
    expect(inventoryCall(s3.requests.at(-1)?.path)).toEqual({ bucket: 'acme-photos', id: 's3-to-sqs-prod' });
    // 404: gone; 301: another region; 403: after an update to another sourceBucket, the role no
    // longer names the old one when CloudFormation deletes its configuration.
    for (const status of [404, 301, 403]) {
      const answer = await recorder(status);
      const warnings: unknown[] = [];
      const log = { ...silentLog, warn: (_message: string, detail?: unknown) => void warnings.push(detail) };
      await expect(deleteInventoryConfiguration(clientAt(answer.url), 'old-photos', 's3-to-sqs-prod', log), `${status}`).resolves.toBe(
        false,
      );
      expect(warnings, `${status}`).toEqual([{ bucket: 'old-photos', configurationId: 's3-to-sqs-prod', status }]);
      answer.server.close();
    }
    const broken = await recorder(500);
    await expect(deleteInventoryConfiguration(clientAt(broken.url, 1), 'acme-photos', 'x', silentLog)).rejects.toThrow();
    broken.server.close();
  });
});

describe('what the stack uses but does not own: another region, or out of reach', () => {
  // S3 names a bucket's region in HeadBucket's x-amz-bucket-region header, on 200, 301 and 403.
  const s3At = (url: string) =>
    new S3Client({ endpoint: url, forcePathStyle: true, region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

  it('is refused with a message naming both regions, whether S3 answers 200 or redirects', async () => {
    for (const status of [200, 301, 403]) {
      const s3 = await recorder(status, { 'x-amz-bucket-region': 'us-west-2' });
      await expect(assertBucketInRegion(s3At(s3.url), 'acme-photos', 'eu-west-1')).rejects.toThrow(
        'source bucket "acme-photos" is in us-west-2, but the stack is in eu-west-1',
      );
      expect(s3.requests).toMatchObject([{ method: 'HEAD', path: '/acme-photos/' }]);
      s3.server.close();
    }
  });

  it('is accepted in the same region, and a missing bucket is named', async () => {
    const same = await recorder(200, { 'x-amz-bucket-region': 'eu-west-1' });
    await expect(assertBucketInRegion(s3At(same.url), 'acme-photos', 'eu-west-1')).resolves.toBeUndefined();
    same.server.close();
    const missing = await recorder(404);
    await expect(assertBucketInRegion(s3At(missing.url), 'gone', 'eu-west-1')).rejects.toThrow('source bucket "gone" does not exist');
    missing.server.close();
  });

  it('stops `sls deploy` before CloudFormation is asked for anything', async () => {
    const aws = await recorder(200, { 'x-amz-bucket-region': 'us-west-2' });
    const deploying = sls(
      ['deploy', '--stage', 'test', '--region', 'eu-west-1', '--param=sourceBucket=acme-photos', '--param=createSourceBucket=false'],
      { AWS_ENDPOINT_URL: aws.url, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' },
    );
    await expect(deploying).rejects.toMatchObject({
      stdout: expect.stringContaining('source bucket "acme-photos" is in us-west-2, but the stack is in eu-west-1'),
    });
    expect(aws.requests.filter((request) => request.method === 'HEAD')).toMatchObject([{ path: '/acme-photos/' }]);
    // Only the account lookup and the bucket's region: no CloudFormation or S3 upload call.
    expect(aws.requests.filter((request) => !/GetCallerIdentity/.test(request.body) && request.method !== 'HEAD')).toEqual([]);
    aws.server.close();
  }, 300_000);

  it('stops `sls deploy` when an adopted inventory bucket is in another region, or cannot be read under its prefix', async () => {
    const deploy = (url: string) =>
      sls(
        [
          'deploy',
          '--stage',
          'test',
          '--region',
          'eu-west-1',
          '--param=adoptInventoryBucket=their-inventories',
          '--param=adoptInventoryPrefix=athena/daily',
        ],
        { AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' },
      );
    const elsewhere = await recorder(200, { 'x-amz-bucket-region': 'us-west-2' });
    await expect(deploy(elsewhere.url)).rejects.toMatchObject({
      stdout: expect.stringContaining(
        'adopted inventory bucket "their-inventories" is in us-west-2, but the stack is in eu-west-1: S3 sends a bucket\'s events to EventBridge only',
      ),
    });
    elsewhere.server.close();
    // S3 names the region on a 403 too: same region, but the listing is refused.
    const denied = await recorder(403, { 'x-amz-bucket-region': 'eu-west-1' });
    await expect(deploy(denied.url)).rejects.toMatchObject({
      stdout: expect.stringContaining(
        'adopted inventory bucket "their-inventories" cannot be listed under "athena/daily/" by this account',
      ),
    });
    expect(denied.requests.filter((request) => request.method === 'GET').map((request) => request.path)).toEqual([
      expect.stringMatching(/^\/their-inventories\/?\?list-type=2&max-keys=1&prefix=athena%2Fdaily%2F$/),
    ]);
    expect(
      denied.requests.filter((request) => !/GetCallerIdentity/.test(request.body) && !['HEAD', 'GET'].includes(request.method)),
    ).toEqual([]);
    denied.server.close();
  }, 300_000);

  it('stops `sls deploy` when an existing target queue cannot be reached, naming what its owner must allow', async () => {
    const denied = await recorder(400, { 'content-type': 'application/x-amz-json-1.0' });
    const deploying = sls(
      ['deploy', '--stage', 'test', '--region', 'eu-west-1', '--param=queueArn=arn:aws:sqs:eu-west-1:444455556666:their-objects.fifo'],
      { AWS_ENDPOINT_URL: denied.url, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' },
    );
    await expect(deploying).rejects.toMatchObject({
      stdout: expect.stringContaining(
        'target queue arn:aws:sqs:eu-west-1:444455556666:their-objects.fifo cannot be reached by this account',
      ),
    });
    const getQueueUrl = denied.requests.find((request) => request.headers['x-amz-target'] === 'AmazonSQS.GetQueueUrl');
    expect(JSON.parse(getQueueUrl?.body ?? '{}')).toEqual({ QueueName: 'their-objects.fifo', QueueOwnerAWSAccountId: '444455556666' });
    denied.server.close();
  }, 300_000);
});
