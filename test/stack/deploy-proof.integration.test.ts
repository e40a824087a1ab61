import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { runSimulation, getGrantReasons } from '@cloud-copilot/iam-simulate';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectCreatedEvent } from '../../lib/inventory/s3-event.ts';
import { createFifoQueue } from '../../lib/local/demo.ts';
import { runLocalEventSource } from '../../lib/local/event-source.ts';
import { writeInventoryReport } from '../../lib/local/report-writer.ts';
import { sampleInventoryRows, seedBucket } from '../../lib/local/sample-objects.ts';
import { packageStack, type StackVariant } from '../../lib/local/stack-package.ts';
import { getJson, reportKey, runFolder } from '../../lib/run/state.ts';
import type { RunReport, RunStatus } from '../../lib/run/types.ts';
import type { S3Location } from '../../lib/core/types.ts';
import { deployed, type Template } from '../support/cloudformation.ts';
import { silentLog, useEmulator } from '../support/emulator.ts';
import { type Account, type IamRequest, iamRequests } from '../support/iam-requests.ts';
import { FunctionProcess, type PackagedFunction, unpackFunctions } from '../support/packaged-functions.ts';
import { RequestRecorder } from '../support/request-recorder.ts';
import { explainedStatements, intrinsicResolver, type RolePolicy, rolePolicies } from '../support/role-policies.ts';

// The stack as `sls package` writes it, run in the emulator's region and account: every function
// from its own zip, in a process of its own, with exactly the environment the template sets; every
// AWS request they make goes through a recorder and is then checked against the function's role.
const aws = useEmulator();
const ACCOUNT: Account = { id: '000000000000', region: 'us-east-1' };
const VARIANT: StackVariant = { name: 'default, in the emulator region', stage: 'test', region: ACCOUNT.region, params: {} };
const OBJECTS = 600;

let template: Template;
let recorder: RequestRecorder;
const running = new Map<string, FunctionProcess>();
/** Lambda's Invoke, which the emulator does not have: the payloads, in order. */
const invoked: Array<{ functionArn: string; payload: unknown }> = [];

const fn = (logicalId: string) => running.get(logicalId) as FunctionProcess;
const resource = (id: string) => template.Resources[id]?.Properties ?? {};

beforeAll(async () => {
  const templates = await packageStack(VARIANT);
  const update = templates.find((path) => path.endsWith('update-stack.json')) as string;
  const packaged = JSON.parse(await readFile(update, 'utf8')) as Template;
  template = deployed(packaged);
  recorder = await RequestRecorder.start(aws.emulator.endpoint, (request) => {
    // S3's inventory configuration API and Lambda's Invoke: answered as AWS answers, recorded.
    if (request.service === 's3' && request.query.has('inventory')) return { status: request.method === 'DELETE' ? 204 : 200 };
    if (request.service === 'lambda') {
      invoked.push({ functionArn: request.path.split('/')[3] ?? '', payload: JSON.parse(request.body) });
      return { status: 202 };
    }
    return undefined;
  });
  await createResources();
  for (const [logicalId, packagedFunction] of await unpackFunctions(dirname(update), packaged)) {
    running.set(logicalId, new FunctionProcess(packagedFunction, lambdaEnvironment(packagedFunction)));
  }
}, 300_000);

afterAll(async () => {
  for (const process of running.values()) process.stop();
  await recorder?.stop();
});

/** What Lambda adds to a function's environment; the credentials name its role, for the recorder. */
function lambdaEnvironment(packagedFunction: PackagedFunction): Record<string, string> {
  return {
    AWS_REGION: ACCOUNT.region,
    AWS_DEFAULT_REGION: ACCOUNT.region,
    AWS_ACCESS_KEY_ID: packagedFunction.role,
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL: recorder.url,
  };
}

/** The buckets and queues the template creates, by the names it gives them. */
async function createResources(): Promise<void> {
  for (const bucket of ['InventoryBucket', 'SourceBucket']) await aws.createBucket(String(resource(bucket).BucketName));
  await createFifoQueue(aws.sqs, String(resource('TargetQueue').QueueName));
  for (const queue of ['FailedInvocationsQueue', 'WorkDeadLetterQueue']) {
    await aws.sqs.send(new CreateQueueCommand({ QueueName: String(resource(queue).QueueName) }));
  }
  const redrive = resource('WorkQueue').RedrivePolicy as { maxReceiveCount: number };
  const { Attributes } = await aws.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: await queueUrl('WorkDeadLetterQueue'), AttributeNames: ['QueueArn'] }),
  );
  await aws.sqs.send(
    new CreateQueueCommand({
      QueueName: String(resource('WorkQueue').QueueName),
      Attributes: {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: redrive.maxReceiveCount }),
      },
    }),
  );
}

async function queueUrl(logicalId: string): Promise<string> {
  return `${aws.emulator.endpoint}/${ACCOUNT.id}/${resource(logicalId).QueueName}`;
}

/** An SQS client signed as a role, through the recorder: Lambda's event source polls with the function's role. */
const sqsAs = (role: string) =>
  new SQSClient({ endpoint: recorder.url, region: ACCOUNT.region, credentials: { accessKeyId: role, secretAccessKey: 'local' } });

/** Lambda's event sources of the worker and the dead-letter function, until the run has its report. */
async function workUntilReport(manifest: S3Location): Promise<RunReport> {
  const stop = new AbortController();
  const source = (logicalId: string, queue: string, concurrency: number) =>
    runLocalEventSource({
      sqs: sqsAs(fn(logicalId).fn.role),
      queueUrl: `${recorder.url}/${ACCOUNT.id}/${resource(queue).QueueName}`,
      concurrency,
      handler: (event) => fn(logicalId).invoke(event),
      visibilityTimeoutSeconds: 960,
      retryDelaySeconds: 0,
      signal: stop.signal,
      log: silentLog,
    });
  const sources = Promise.all([
    source('WorkerLambdaFunction', 'WorkQueue', 4),
    source('DeadLetterLambdaFunction', 'WorkDeadLetterQueue', 1),
  ]);
  const run = runFolder(manifest);
  try {
    for (let waited = 0; waited < 120_000; waited += 100) {
      const report = await getJson<RunReport>(aws.s3, run.bucket, reportKey(run));
      if (report) return report.value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no report for ${manifest.key}; worker output:\n${fn('WorkerLambdaFunction').output}`);
  } finally {
    stop.abort();
    await sources;
  }
}

/** A custom resource request, as CloudFormation sends it, and the response it gets back. */
async function customResource(type: string, request: 'Create' | 'Delete', properties: Record<string, unknown>) {
  let response = '';
  const server = createServer(async (incoming, outgoing) => {
    response = Buffer.concat(await incoming.toArray()).toString('utf8');
    outgoing.writeHead(200).end();
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const event = {
      RequestType: request,
      ServiceToken: 'token',
      ResponseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      StackId: `arn:aws:cloudformation:${ACCOUNT.region}:${ACCOUNT.id}:stack/s3-to-sqs-test/1`,
      RequestId: `${type}-${request}`,
      LogicalResourceId: type,
      ResourceType: type,
      ResourceProperties: { ServiceToken: 'token', ...properties },
      ...(request === 'Delete' && { PhysicalResourceId: `${type}-physical` }),
    } as CloudFormationCustomResourceEvent;
    await fn('StackSetupLambdaFunction').invoke(event);
    return JSON.parse(response || '{}') as { Status: string; Reason?: string };
  } finally {
    server.close();
  }
}

/** The functions that run with a role. */
const functionsOf = (role: string) =>
  [...running.values()]
    .filter((process) => process.fn.role === role)
    .map((process) => process.fn.name)
    .join(', ');

const SOURCE = () => String(resource('SourceBucket').BucketName);
const INVENTORY = () => String(resource('InventoryBucket').BucketName);

describe('the packaged bundles, run as Lambda runs them', () => {
  it('publish a report through inventory, worker and report, and a backfill, with events shaped as AWS sends them', async () => {
    await seedBucket(aws.s3, SOURCE(), { count: OBJECTS });
    const written = await writeInventoryReport(aws.s3, {
      sourceBucket: SOURCE(),
      destinationBucket: INVENTORY(),
      prefix: 'inventory',
      configId: 's3-to-sqs-test',
      rows: sampleInventoryRows(OBJECTS),
      rowsPerFile: 250,
    });
    const fanOut = await fn('InventoryLambdaFunction').invoke<{ runs: Array<{ status: string; parts: number }> }>(
      objectCreatedEvent(written.manifest, 1),
    );
    expect(fanOut.runs).toEqual([expect.objectContaining({ status: 'started', parts: 3 })]);
    const report = await workUntilReport(written.manifest);
    expect(report).toMatchObject({ status: 'complete', parts: 3, totals: { published: OBJECTS, failed: 0 } });
    const status = await fn('StatusLambdaFunction').invoke<RunStatus>({ manifest: `s3://${INVENTORY()}/${written.manifest.key}` });
    expect(status).toMatchObject({ state: 'complete', sourceBucket: SOURCE() });
    const target = await queueUrl('TargetQueue');
    expect(await aws.drain(target)).toHaveLength(OBJECTS);

    const backfill = await fn('BackfillLambdaFunction').invoke<{ published: number; done: boolean }>({});
    expect(backfill).toMatchObject({ published: OBJECTS, done: true });
    // A qualified invocation continues under the same qualifier.
    const qualified = `arn:aws:lambda:${ACCOUNT.region}:${ACCOUNT.id}:function:${fn('BackfillLambdaFunction').fn.name}:live`;
    const first = await fn('BackfillLambdaFunction').invoke<{ done: boolean }>({ bucket: SOURCE(), timeBudgetMs: 1 }, qualified);
    expect(first.done).toBe(false);
    expect(invoked.map((invocation) => invocation.functionArn)).toEqual([qualified]);
  }, 180_000);

  it('record a part that failed every delivery through the dead-letter function', async () => {
    const written = await writeInventoryReport(aws.s3, {
      sourceBucket: SOURCE(),
      destinationBucket: INVENTORY(),
      prefix: 'inventory',
      configId: 'broken',
      rows: sampleInventoryRows(10),
      rowsPerFile: 10,
    });
    // The manifest's checksum of the one data file no longer matches it.
    const location = { Bucket: INVENTORY(), Key: written.manifest.key };
    const manifest = JSON.parse(await (await aws.s3.send(new GetObjectCommand(location))).Body!.transformToString());
    manifest.files[0].MD5checksum = '0'.repeat(32);
    await aws.s3.send(new PutObjectCommand({ ...location, Body: JSON.stringify(manifest) }));
    await fn('InventoryLambdaFunction').invoke(objectCreatedEvent(written.manifest, 1));
    expect(await workUntilReport(written.manifest)).toMatchObject({ status: 'failed', failedParts: [0] });
  }, 180_000);

  it('set up and tear down the stack through the custom resources', async () => {
    const inventory = intrinsicResolver(template, ACCOUNT)(resource('SourceBucketInventory')) as Record<string, unknown>;
    expect(await customResource('Custom::SourceBucketInventory', 'Create', inventory)).toMatchObject({
      Status: 'SUCCESS',
    });
    expect(await customResource('Custom::EmptyBucketOnDelete', 'Delete', { Bucket: INVENTORY() })).toMatchObject({ Status: 'SUCCESS' });
  }, 60_000);
});

describe('IAM, simulated over every request the functions made', () => {
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
  const recordedRequests = (): IamRequest[] => {
    const unique = new Map<string, IamRequest>();
    for (const recorded of recorder.requests) {
      for (const request of iamRequests(recorded, ACCOUNT)) {
        // Only the local event source retries sooner; Lambda's leaves a failed message to its visibility timeout.
        if (request.action === 'sqs:ChangeMessageVisibility') continue;
        unique.set(JSON.stringify([request.role, request.action, request.resource, request.context]), request);
      }
    }
    return [...unique.values()];
  };

  it('allows every request of every function by that function role, and nothing signed without one', async () => {
    const roles = rolePolicies(template, ACCOUNT);
    const requests = recordedRequests();
    expect(new Set(requests.map((request) => request.role))).toEqual(new Set([...running.values()].map((process) => process.fn.role)));
    const denied: string[] = [];
    for (const request of requests) {
      const analysis = await simulate(roles.get(request.role) ?? [], request);
      if (analysis.result !== 'Allowed') {
        denied.push(
          `${functionsOf(request.role)} (${request.role}): ${request.action} on ${request.resource} (${request.call}) is ${analysis.result}`,
        );
      }
    }
    expect(denied).toEqual([]);
    expect(requests.length).toBeGreaterThan(20);
  });

  it('uses every grant of every role, or the template says why it is needed', async () => {
    const roles = rolePolicies(template, ACCOUNT);
    const used = new Set<string>();
    for (const request of recordedRequests()) {
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

  it('denies what no function may do: a manifest.json in the run state, reading beyond the prefix', async () => {
    const roles = rolePolicies(template, ACCOUNT);
    const ask = (role: string, action: string, resource: string) =>
      simulate(roles.get(role) ?? [], { role, action, resource, context: {}, call: 'asked' }).then((analysis) => analysis.result);
    const state = `arn:aws:s3:::${INVENTORY()}/inventory/${SOURCE()}/s3-to-sqs-test/2026-12-01T00-00Z/s3-to-sqs`;
    expect(await ask('WorkerRole', 's3:PutObject', `${state}/parts/000001.json`)).toBe('Allowed');
    expect(await ask('WorkerRole', 's3:PutObject', `${state}/manifest.json`)).toBe('ExplicitlyDenied');
    expect(await ask('StatusRole', 's3:PutObject', `${state}/report.json`)).toBe('ImplicitlyDenied');
    expect(await ask('BackfillRole', 's3:GetObject', `arn:aws:s3:::${SOURCE()}/a.jpg`)).toBe('ImplicitlyDenied');
  });
});
