import {
  GetBucketNotificationConfigurationCommand,
  GetObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getGrantReasons, runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Location } from '../../lib/core/types.ts';
import { eventBridgeObjectCreated, objectCreatedEvent } from '../../lib/inventory/s3-event.ts';
import { writeInventoryReport } from '../../lib/local/report-writer.ts';
import { sampleInventoryRows, seedBucket } from '../../lib/local/sample-objects.ts';
import type { BackfillReport, BackfillStatus, RunStatus } from '../../lib/run/types.ts';
import type { BackfillPlan } from '../../lib/run/backfill-run.ts';
import { parseS3Uri } from '../../lib/core/s3-location.ts';
import type { InventoryFormat } from '../../lib/inventory/manifest.ts';
import { useEmulator } from '../support/emulator.ts';
import { type IamRequest, iamRequests } from '../support/iam-requests.ts';
import { EMULATOR_ACCOUNT as ACCOUNT, PackagedStack } from '../support/packaged-stack.ts';
import { explainedStatements, intrinsicResolver, type RolePolicy, rolePolicies } from '../support/role-policies.ts';

// Each variant of the stack as `sls package` writes it, run in the emulator: every function from
// its own zip, in a process of its own, with exactly the environment the template sets, through a
// whole scenario; then every AWS request the functions made is checked against the role the
// template gives the function that made it.
const aws = useEmulator();
const OBJECTS = 600;

/** How reports reach a variant: where they land, and the event that announces them. */
interface Scenario {
  name: string;
  stage: string;
  params: Record<string, string>;
  /** Whatever the variant needs before reports arrive; the bucket and prefix they land under. */
  prepare(stack: PackagedStack): Promise<{ bucket: string; prefix: string }>;
  announce(manifest: S3Location): unknown;
  format?: InventoryFormat;
}

/** The stack's own inventory: turned on by the custom resource, reports in the stack's bucket. */
const ownInventory = async (stack: PackagedStack) => {
  const inventory = intrinsicResolver(stack.template, ACCOUNT)(stack.resource('SourceBucketInventory') as never) as Record<string, unknown>;
  expect(await stack.customResource('Custom::SourceBucketInventory', 'Create', inventory)).toMatchObject({ Status: 'SUCCESS' });
  return { bucket: String(stack.resource('InventoryBucket').BucketName), prefix: 'inventory' };
};
const KMS_KEY = (account: string) => `arn:aws:kms:${ACCOUNT.region}:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const SCENARIOS: Scenario[] = [
  {
    name: 'default',
    stage: 'test',
    params: {},
    prepare: ownInventory,
    announce: (manifest) => objectCreatedEvent(manifest, 1),
  },
  {
    name: 'existing bucket, existing queue with a KMS key',
    stage: 'existing',
    params: {
      sourceBucket: 'acme-photos',
      createSourceBucket: 'false',
      queueArn: `arn:aws:sqs:${ACCOUNT.region}:${ACCOUNT.id}:their-objects.fifo`,
      queueKmsKeyArn: KMS_KEY(ACCOUNT.id),
    },
    prepare: ownInventory,
    announce: (manifest) => objectCreatedEvent(manifest, 1),
  },
  {
    name: 'standard queue, changed mode with message fields, Parquet',
    stage: 'fields',
    params: { queueType: 'standard', publishMode: 'changed', messageFields: 'size,etag', inventoryFormat: 'Parquet' },
    prepare: ownInventory,
    announce: (manifest) => objectCreatedEvent(manifest, 1),
    format: 'Parquet',
  },
  {
    name: 'live publishing, missed mode',
    stage: 'live',
    params: { live: 'true', publishMode: 'missed' },
    prepare: ownInventory,
    announce: (manifest) => objectCreatedEvent(manifest, 1),
  },
  {
    name: 'adopted inventory, changed mode',
    stage: 'adopt',
    // changed mode: the baseline is looked for by listing the adopted bucket's earlier report folders.
    params: {
      adoptInventoryBucket: 'team-inventories',
      adoptInventoryPrefix: 'athena/daily',
      createInventory: 'false',
      publishMode: 'changed',
    },
    prepare: async (stack) => {
      await aws.createBucket('team-inventories');
      const owners = {
        QueueConfigurations: [{ QueueArn: `arn:aws:sqs:${ACCOUNT.region}:${ACCOUNT.id}:theirs`, Events: ['s3:ObjectCreated:*' as const] }],
      };
      await aws.s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: 'team-inventories', NotificationConfiguration: owners }));
      expect(await stack.customResource('Custom::BucketEventBridge', 'Create', { Bucket: 'team-inventories' })).toMatchObject({
        Status: 'SUCCESS',
      });
      return { bucket: 'team-inventories', prefix: 'athena/daily' };
    },
    announce: (manifest) => eventBridgeObjectCreated(manifest, 1, ACCOUNT.id),
  },
  {
    name: "live publishing of an adopted inventory's source buckets",
    stage: 'crew',
    params: {
      live: 'true',
      publishMode: 'missed',
      sourceBucket: 'crew-source',
      adoptInventoryBucket: 'crew-inventories',
      adoptInventoryPrefix: 'daily',
      acceptSourceBuckets: 'crew-source,crew-photos',
      createInventory: 'false',
      // The live invocations share the cap in the stack's bucket: their requests are simulated too.
      maxMessagesPerSecond: '5000',
    },
    // Every Custom::BucketEventBridge of the template, as CloudFormation would create it.
    prepare: async (stack) => {
      for (const bucket of ['crew-inventories', 'crew-photos']) await aws.createBucket(bucket);
      const resolve = intrinsicResolver(stack.template, ACCOUNT);
      for (const resource of Object.values(stack.template.Resources).filter((each) => each.Type === 'Custom::BucketEventBridge')) {
        const properties = resolve(resource.Properties as never) as Record<string, unknown>;
        expect(await stack.customResource('Custom::BucketEventBridge', 'Create', properties)).toMatchObject({ Status: 'SUCCESS' });
      }
      return { bucket: 'crew-inventories', prefix: 'daily' };
    },
    announce: (manifest) => eventBridgeObjectCreated(manifest, 1, ACCOUNT.id),
  },
  {
    name: 'adopted inventory of another account, SSE-KMS, no prefix',
    stage: 'foreign',
    // Its owner turns EventBridge on and forwards the events: the stack has no custom resource for it.
    params: {
      adoptInventoryBucket: 'their-inventories',
      adoptInventoryAccount: '444455556666',
      adoptInventoryKmsKeyArn: KMS_KEY('444455556666'),
    },
    prepare: async (stack) => {
      await ownInventory(stack);
      await aws.createBucket('their-inventories');
      return { bucket: 'their-inventories', prefix: 'daily' };
    },
    announce: (manifest) => eventBridgeObjectCreated(manifest, 1, '444455556666'),
  },
];

describe.each(SCENARIOS)('the packaged stack, $name', (scenario) => {
  let stack: PackagedStack;
  let reports: { bucket: string; prefix: string };
  beforeAll(async () => {
    stack = await PackagedStack.start(aws, scenario.stage, scenario.params);
    reports = await scenario.prepare(stack);
  }, 300_000);
  afterAll(() => stack?.stop());

  const source = () => stack.sourceBucket;
  const report = (configId: string, count: number, rowsPerFile: number) =>
    writeInventoryReport(aws.s3, {
      sourceBucket: source(),
      destinationBucket: reports.bucket,
      prefix: reports.prefix,
      configId,
      rows: sampleInventoryRows(count),
      rowsPerFile,
      ...(scenario.format && { format: scenario.format }),
    });

  it('publishes a report through inventory, worker and report, and a backfill, from the bundles, with events as AWS sends them', async () => {
    await seedBucket(aws.s3, source(), { count: OBJECTS });
    const { manifest } = await report('daily', OBJECTS, 250);
    const fanOut = await stack
      .fn('InventoryLambdaFunction')
      .invoke<{ runs: Array<{ status: string; parts: number }> }>(scenario.announce(manifest));
    expect(fanOut.runs).toEqual([expect.objectContaining({ status: 'started', parts: 3 })]);
    expect(await stack.workUntilReport(manifest)).toMatchObject({
      status: 'complete',
      parts: 3,
      totals: { published: OBJECTS, failed: 0 },
    });
    const status = await stack.fn('StatusLambdaFunction').invoke<RunStatus>({ manifest: `s3://${manifest.bucket}/${manifest.key}` });
    expect(status).toMatchObject({ state: 'complete', sourceBucket: source() });
    expect(await aws.drain(stack.targetQueueUrl())).toHaveLength(OBJECTS);

    // The backfill plans a run and returns; the workers list its ranges and publish.
    const plan = await stack.fn('BackfillLambdaFunction').invoke<BackfillPlan>({});
    expect(plan).toMatchObject({ status: 'started', bucket: source(), ranges: 17 });
    const { bucket, key } = parseS3Uri(plan.stateLocation);
    expect(await stack.workUntilRunEnds<BackfillReport>({ bucket, prefix: key })).toMatchObject({
      status: 'complete',
      totals: { published: OBJECTS, failed: 0 },
    });
    expect(await stack.fn('StatusLambdaFunction').invoke<BackfillStatus>({ run: plan.stateLocation })).toMatchObject({
      state: 'complete',
      ranges: { inFlight: 0, queued: 0 },
    });
    // A FIFO queue drops the messages the report's run sent minutes ago: not counted here.
    await aws.drain(stack.targetQueueUrl());
    expect(stack.invoked).toEqual([]);
  }, 180_000);

  it.runIf(scenario.params.live === 'true')(
    'publishes objects from their S3 events through the live bundle, and records them',
    async () => {
      const keys = ['live/a.jpg', 'live/b c.jpg', 'live/x+y.jpg'];
      for (const key of keys) await aws.s3.send(new PutObjectCommand({ Bucket: source(), Key: key, Body: key }));
      // An EventBridge key that would decode to another is looked up as given: here it exists.
      // ...and here only what it decodes to exists.
      await aws.s3.send(new PutObjectCommand({ Bucket: source(), Key: 'live/only decoded.jpg', Body: 'x' }));
      const records = [...keys, 'live/only+decoded.jpg'].map((key, index) => ({
        messageId: `live-${index}`,
        body: JSON.stringify(eventBridgeObjectCreated({ bucket: source(), key }, key.length, ACCOUNT.id)),
      }));
      expect(await stack.fn('LiveLambdaFunction').invoke({ Records: records })).toEqual({ batchItemFailures: [] });
      const published = (await aws.drain(stack.targetQueueUrl())).map((body) => (JSON.parse(body) as { key: string }).key);
      expect(published.sort()).toEqual([...keys, 'live/only decoded.jpg'].sort());
    },
    120_000,
  );

  it.runIf(scenario.params.live === 'true' && scenario.params.acceptSourceBuckets)(
    'publishes the objects of an accepted source bucket live, its EventBridge delivery turned on by the stack',
    async () => {
      const notifications = await aws.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'crew-photos' }));
      expect(notifications.EventBridgeConfiguration).toBeDefined();
      await aws.s3.send(new PutObjectCommand({ Bucket: 'crew-photos', Key: 'new/a b.jpg', Body: 'x' }));
      const records = [
        {
          messageId: 'crew-0',
          body: JSON.stringify(eventBridgeObjectCreated({ bucket: 'crew-photos', key: 'new/a b.jpg' }, 1, ACCOUNT.id)),
        },
      ];
      expect(await stack.fn('LiveLambdaFunction').invoke({ Records: records })).toEqual({ batchItemFailures: [] });
      expect((await aws.drain(stack.targetQueueUrl())).map((body) => JSON.parse(body))).toEqual([
        { bucket: 'crew-photos', key: 'new/a b.jpg' },
      ]);
    },
    120_000,
  );

  it('records a part that failed every delivery through the dead-letter function', async () => {
    const { manifest } = await report('broken', 10, 10);
    // The manifest's checksum of the one data file no longer matches it.
    const location = { Bucket: manifest.bucket, Key: manifest.key };
    const document = JSON.parse(await (await aws.s3.send(new GetObjectCommand(location))).Body!.transformToString());
    document.files[0].MD5checksum = '0'.repeat(32);
    await aws.s3.send(new PutObjectCommand({ ...location, Body: JSON.stringify(document) }));
    await stack.fn('InventoryLambdaFunction').invoke(scenario.announce(manifest));
    expect(await stack.workUntilReport(manifest)).toMatchObject({ status: 'failed', failedParts: [0] });
  }, 180_000);

  it.runIf(scenario.name === 'default')(
    'moves the inventory to a new sourceBucket on update, and leaves the old one when its bucket is out of reach',
    async () => {
      const inventory = intrinsicResolver(stack.template, ACCOUNT)(stack.resource('SourceBucketInventory') as never) as Record<
        string,
        unknown
      >;
      const moved = await stack.customResource(
        'Custom::SourceBucketInventory',
        'Update',
        { ...inventory, SourceBucket: source() },
        'out-of-reach-photos/s3-to-sqs-test',
      );
      // A new physical id: CloudFormation then deletes the old configuration, with the updated role.
      expect(moved).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${source()}/s3-to-sqs-test` });
      const old = { ...inventory, SourceBucket: 'out-of-reach-photos' };
      expect(
        await stack.customResource('Custom::SourceBucketInventory', 'Delete', old, 'out-of-reach-photos/s3-to-sqs-test'),
      ).toMatchObject({
        Status: 'SUCCESS',
      });
      expect(stack.fn('StackSetupLambdaFunction').output).toContain('inventory configuration left in place');
    },
    60_000,
  );

  it('empties its bucket through the custom resource on removal', async () => {
    const bucket = String(stack.resource('InventoryBucket').BucketName);
    expect(await stack.customResource('Custom::EmptyBucketOnDelete', 'Delete', { Bucket: bucket })).toMatchObject({ Status: 'SUCCESS' });
  }, 60_000);

  describe('IAM, simulated over every request its functions made', () => {
    const simulate = async (policies: RolePolicy[], request: IamRequest) => {
      const result = await runSimulation(
        {
          request: {
            principal: `arn:aws:iam::${ACCOUNT.id}:role/${request.role}`,
            action: request.action,
            resource: { resource: request.resource, accountId: ACCOUNT.id },
            contextVariables: request.context,
          },
          identityPolicies: policies.map(({ name, policy }) => ({ name, policy })),
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        {},
      );
      if (result.resultType !== 'single') throw new Error(`${request.action} ${request.resource}: ${JSON.stringify(result)}`);
      return result.result.analysis;
    };
    const recorded = (): IamRequest[] => {
      const unique = new Map<string, IamRequest>();
      for (const call of stack.recorder.requests) {
        for (const request of iamRequests(call, ACCOUNT)) {
          // Only the local event source retries sooner; Lambda's leaves a failed message to its visibility timeout.
          if (request.action === 'sqs:ChangeMessageVisibility') continue;
          unique.set(JSON.stringify([request.role, request.action, request.resource, request.context]), request);
        }
      }
      return [...unique.values()];
    };

    it('allows every request of every function by its role, and no request is signed without one', async () => {
      const roles = rolePolicies(stack.template, ACCOUNT);
      const requests = recorded();
      expect(requests.length).toBeGreaterThan(20);
      expect(new Set(requests.map((request) => request.role))).toEqual(
        new Set([...stack.functions.values()].map((process) => process.fn.role)),
      );
      const denied: string[] = [];
      for (const request of requests) {
        const { result } = await simulate(roles.get(request.role) ?? [], request);
        // The old sourceBucket of the update test: its role no longer names it, which is why the Delete leaves it.
        if (request.resource.startsWith('arn:aws:s3:::out-of-reach-')) {
          expect(result, request.call).toBe('ImplicitlyDenied');
          continue;
        }
        if (result !== 'Allowed') {
          denied.push(
            `${stack.functionsOf(request.role)} (${request.role}): ${request.action} on ${request.resource} (${request.call}) is ${result}`,
          );
        }
      }
      expect(denied).toEqual([]);
    });

    it('uses every grant of every role, or the template says why it is needed', async () => {
      const roles = rolePolicies(stack.template, ACCOUNT);
      const used = new Set<string>();
      for (const request of recorded()) {
        for (const grant of getGrantReasons(await simulate(roles.get(request.role) ?? [], request)))
          used.add(`${request.role} ${grant.statementId}`);
      }
      const explained = await explainedStatements(new URL('../../', import.meta.url));
      const unexplained: string[] = [];
      for (const [role, policies] of roles) {
        for (const statement of policies.flatMap(({ policy }) => policy.Statement)) {
          const sid = String(statement.Sid);
          if (statement.Effect === 'Allow' && !used.has(`${role} ${sid}`) && !explained.has(sid)) unexplained.push(`${role} ${sid}`);
        }
      }
      expect(unexplained).toEqual([]);
    });

    it('denies what no function may do: a manifest.json in the run state, a report folder not its own', async () => {
      const roles = rolePolicies(stack.template, ACCOUNT);
      const ask = (role: string, action: string, resource: string) =>
        simulate(roles.get(role) ?? [], { role, action, resource, context: {}, call: 'asked' }).then((analysis) => analysis.result);
      const inventory = String(stack.resource('InventoryBucket').BucketName);
      const state = `arn:aws:s3:::${inventory}/inventory/${source()}/daily/2026-12-01T00-00Z/s3-to-sqs`;
      expect(await ask('WorkerRole', 's3:PutObject', `${state}/parts/000001.json`)).toBe('Allowed');
      expect(await ask('WorkerRole', 's3:PutObject', `${state}/manifest.json`)).toBe('ExplicitlyDenied');
      expect(await ask('StatusRole', 's3:PutObject', `${state}/report.json`)).toBe('ImplicitlyDenied');
      expect(await ask('BackfillRole', 's3:GetObject', `arn:aws:s3:::${source()}/a.jpg`)).toBe('ImplicitlyDenied');
      expect(await ask('WorkerRole', 's3:PutObject', `arn:aws:s3:::team-inventories/athena/daily/x/s3-to-sqs/claim.json`)).toBe(
        'ImplicitlyDenied',
      );
    });
  });
});
