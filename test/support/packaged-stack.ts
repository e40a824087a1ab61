import { readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { S3Location } from '../../lib/core/types.ts';
import { callCustomResource } from '../../lib/local/custom-resource-call.ts';
import { createFifoQueue } from '../../lib/local/demo.ts';
import { runLocalEventSource } from '../../lib/local/event-source.ts';
import { packageStack, removePackage, type StackVariant } from '../../lib/local/stack-package.ts';
import { getJson, reportKey, type RunFolder, runFolder, runStateStoreFromEnvironment } from '../../lib/run/state.ts';
import type { RunReport } from '../../lib/run/types.ts';
import { deployed, type Template } from './cloudformation.ts';
import { silentLog, type TestEmulator } from './emulator.ts';
import type { Account } from './iam-requests.ts';
import { FunctionProcess, type PackagedFunction, unpackFunctions } from './packaged-functions.ts';
import { RequestRecorder } from './request-recorder.ts';

const ACCESS_DENIED = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';

export const EMULATOR_ACCOUNT: Account = { id: '000000000000', region: 'us-east-1' };

/**
 * A variant of the stack as `sls package` writes it, in the emulator's region and account: its
 * buckets and queues created by the names the template gives them, every function from its own
 * zip in a process of its own, and every AWS request the functions make recorded on the way to
 * the emulator. Lambda's Invoke and S3's inventory configuration, which the emulator lacks, are
 * answered by the recorder as AWS answers them.
 */
export class PackagedStack {
  readonly template: Template;
  readonly recorder: RequestRecorder;
  readonly functions = new Map<string, FunctionProcess>();
  /** Lambda's Invoke calls the functions made, in order. */
  readonly invoked: Array<{ functionArn: string; payload: unknown }>;
  readonly #aws: TestEmulator;

  private constructor(template: Template, recorder: RequestRecorder, aws: TestEmulator, invoked: PackagedStack['invoked']) {
    this.template = template;
    this.recorder = recorder;
    this.#aws = aws;
    this.invoked = invoked;
  }

  /** Variants that share an emulator need stages of their own: the names come from the stage. */
  static async start(aws: TestEmulator, stage: string, params: Record<string, string>): Promise<PackagedStack> {
    const variant: StackVariant = { name: 'in the emulator region', stage, region: EMULATOR_ACCOUNT.region, params };
    const templates = await packageStack(variant);
    const update = templates.find((path) => path.endsWith('update-stack.json')) as string;
    const packaged = JSON.parse(await readFile(update, 'utf8')) as Template;
    const invoked: PackagedStack['invoked'] = [];
    const recorder = await RequestRecorder.start(aws.emulator.endpoint, (request) => {
      if (request.service === 's3' && request.query.has('inventory')) {
        // A bucket the role no longer names after an update answers as S3 does: 403.
        if (request.path.startsWith('/out-of-reach-')) return { status: 403, body: ACCESS_DENIED };
        return { status: request.method === 'DELETE' ? 204 : 200 };
      }
      if (request.service !== 'lambda') return undefined;
      invoked.push({ functionArn: request.path.split('/')[3] ?? '', payload: JSON.parse(request.body) });
      return { status: 202 };
    });
    const stack = new PackagedStack(deployed(packaged), recorder, aws, invoked);
    await stack.#createResources();
    try {
      // The functions the deployed template has: one whose condition is false (live, by default) is not there.
      for (const [logicalId, fn] of await unpackFunctions(dirname(update), stack.template)) {
        stack.functions.set(logicalId, new FunctionProcess(fn, stack.#lambdaEnvironment(fn)));
      }
    } finally {
      await removePackage(templates);
    }
    return stack;
  }

  async stop(): Promise<void> {
    for (const process of this.functions.values()) process.stop();
    await this.recorder.stop();
    for (const process of this.functions.values()) await rm(process.fn.root, { recursive: true, force: true });
  }

  fn(logicalId: string): FunctionProcess {
    const process = this.functions.get(logicalId);
    if (!process) throw new Error(`no function ${logicalId} in the template`);
    return process;
  }

  /** A resource's properties as deployed (parameters and conditions resolved). */
  resource(logicalId: string): Record<string, unknown> {
    return this.template.Resources[logicalId]?.Properties ?? {};
  }

  queueUrl(logicalId: string): string {
    return `${this.#aws.emulator.endpoint}/${EMULATOR_ACCOUNT.id}/${this.resource(logicalId).QueueName}`;
  }

  /** The functions that run with a role. */
  functionsOf(role: string): string {
    return [...this.functions.values()]
      .filter((process) => process.fn.role === role)
      .map((process) => process.fn.name)
      .join(', ');
  }

  /** Lambda's event sources of the worker and the dead-letter function, polling with their roles, until the run has its report. */
  workUntilReport(manifest: S3Location): Promise<RunReport> {
    return this.workUntilRunEnds(runFolder(manifest, runStateStoreFromEnvironment(this.fn('WorkerLambdaFunction').fn.environment)));
  }

  /** The same for a run given by its state folder (a backfill run's). */
  async workUntilRunEnds<Report = RunReport>(run: RunFolder): Promise<Report> {
    const stop = new AbortController();
    const source = (logicalId: string, queue: string, concurrency: number) =>
      runLocalEventSource({
        sqs: this.#sqsAs(this.fn(logicalId).fn.role),
        queueUrl: `${this.recorder.url}/${EMULATOR_ACCOUNT.id}/${this.resource(queue).QueueName}`,
        concurrency,
        handler: (event) => this.fn(logicalId).invoke(event),
        visibilityTimeoutSeconds: 960,
        retryDelaySeconds: 0,
        signal: stop.signal,
        log: silentLog,
      });
    const sources = Promise.all([
      source('WorkerLambdaFunction', 'WorkQueue', 4),
      source('DeadLetterLambdaFunction', 'WorkDeadLetterQueue', 1),
    ]);
    try {
      for (let waited = 0; waited < 120_000; waited += 100) {
        const report = await getJson<Report>(this.#aws.s3, run.bucket, reportKey(run));
        if (report) return report.value;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no report in s3://${run.bucket}/${run.prefix}; worker output:\n${this.fn('WorkerLambdaFunction').output}`);
    } finally {
      stop.abort();
      await sources;
    }
  }

  /** A custom resource operation as CloudFormation runs it, through the stackSetup function. */
  customResource(type: string, request: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown>, physicalId?: string) {
    return callCustomResource((event) => this.fn('StackSetupLambdaFunction').invoke(event), {
      type,
      request,
      properties,
      ...(physicalId && { physicalId }),
    });
  }

  /** What Lambda adds to a function's environment; the credentials name its role, for the recorder. */
  #lambdaEnvironment(fn: PackagedFunction): Record<string, string> {
    return {
      AWS_REGION: EMULATOR_ACCOUNT.region,
      AWS_DEFAULT_REGION: EMULATOR_ACCOUNT.region,
      AWS_ACCESS_KEY_ID: fn.role,
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL: this.recorder.url,
    };
  }

  #sqsAs(role: string): SQSClient {
    return new SQSClient({
      endpoint: this.recorder.url,
      region: EMULATOR_ACCOUNT.region,
      credentials: { accessKeyId: role, secretAccessKey: 'local' },
    });
  }

  /** The source bucket, created by the stack or not: the backfill's. */
  get sourceBucket(): string {
    return this.#variables('BackfillLambdaFunction').SOURCE_BUCKET ?? '';
  }

  /** The target queue: created by the stack, or the existing one its functions are given. */
  get targetQueueName(): string {
    return String(this.resource('TargetQueue').QueueName ?? this.#variables('WorkerLambdaFunction').QUEUE_ARN?.split(':').at(-1));
  }

  targetQueueUrl(): string {
    return `${this.#aws.emulator.endpoint}/${EMULATOR_ACCOUNT.id}/${this.targetQueueName}`;
  }

  #variables(logicalId: string): Record<string, string> {
    return (this.resource(logicalId).Environment as { Variables: Record<string, string> }).Variables;
  }

  /** The buckets and queues the template creates by the names it gives them, and those it is given. */
  async #createResources(): Promise<void> {
    const aws = this.#aws;
    for (const bucket of [String(this.resource('InventoryBucket').BucketName), this.sourceBucket]) await aws.createBucket(bucket);
    const target = this.targetQueueName;
    if (target.endsWith('.fifo')) await createFifoQueue(aws.sqs, target);
    else await aws.sqs.send(new CreateQueueCommand({ QueueName: target }));
    for (const queue of ['FailedInvocationsQueue', 'WorkDeadLetterQueue']) {
      await aws.sqs.send(new CreateQueueCommand({ QueueName: String(this.resource(queue).QueueName) }));
    }
    const redrive = this.resource('WorkQueue').RedrivePolicy as { maxReceiveCount: number };
    const { Attributes } = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.queueUrl('WorkDeadLetterQueue'), AttributeNames: ['QueueArn'] }),
    );
    await aws.sqs.send(
      new CreateQueueCommand({
        QueueName: String(this.resource('WorkQueue').QueueName),
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: redrive.maxReceiveCount }),
        },
      }),
    );
  }
}
