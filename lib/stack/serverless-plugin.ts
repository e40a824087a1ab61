import { liveSelectionProblem } from '../live/live-publish.ts';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { assertQueueReachable } from './queue-reach.ts';
import { ADOPTED_INVENTORY_BUCKET, assertBucketInRegion, assertReportsReadable } from './bucket-region.ts';
import { type LiveSources, liveSources } from './live-sources.ts';

/** The parts of the Serverless Framework (osls, or v4) that this plugin uses. */
interface Serverless {
  /** The framework's error for a user's mistake: shown without a stack trace. */
  classes?: { Error?: new (message: string) => Error };
  service: {
    custom?: {
      sourceBucketName?: string;
      createSourceBucket?: boolean | string;
      inventoryBucketName?: string;
      adoptedBucketName?: string;
      adoptedInventoryPrefix?: string;
      existingQueueArn?: string;
      live?: boolean | string;
    };
    provider?: { environment?: Record<string, string> };
  };
  configSchemaHandler?: {
    schema?: { properties?: Record<string, unknown> };
    defineTopLevelProperty(name: string, schema: object): void;
  };
  getProvider(name: 'aws'): {
    getRegion(): string;
    getStage(): string;
    /** osls: the SDK v3 settings of the deploying account (profile, credentials, region). */
    getAwsSdkV3Config?(): Promise<ConstructorParameters<typeof S3Client>[0]>;
  };
}

/** What a variable source's resolver is given: the address after the colon, and other variables' values. */
interface VariableRequest {
  address?: string;
  resolveVariable(variable: string): Promise<unknown>;
}

/**
 * Deploy-time checks that CloudFormation cannot make, run by `sls deploy` before anything is
 * created; the one setting of Serverless Framework v4 that osls does not know; and the variables
 * `${liveSources:<piece>}`: the template's pieces that name each bucket of the live path (the
 * source bucket and an adopted inventory's accepted ones), which CloudFormation cannot loop over.
 */
export default class StackChecks {
  readonly hooks: Record<string, () => Promise<void>>;
  readonly configurationVariablesSources: Record<string, { resolve(request: VariableRequest): Promise<{ value: unknown }> }>;
  private readonly serverless: Serverless;

  constructor(serverless: Serverless) {
    this.serverless = serverless;
    // v4 refuses a bundler plugin without `build: { esbuild: false }`; osls validates the
    // configuration strictly and would reject the key it does not define.
    const schema = serverless.configSchemaHandler;
    if (schema && !schema.schema?.properties?.build) schema.defineTopLevelProperty('build', { type: 'object' });
    this.hooks = {
      'before:package:initialize': async () => {
        this.checkNames();
        this.checkLive();
      },
      'before:deploy:deploy': () => this.checkBuckets(),
    };
    this.configurationVariablesSources = { liveSources: { resolve: (request) => this.resolveLiveSources(request) } };
  }

  private async resolveLiveSources({ address, resolveVariable }: VariableRequest): Promise<{ value: unknown }> {
    const text = async (variable: string) => String((await resolveVariable(variable)) ?? '');
    let sources: LiveSources;
    try {
      sources = liveSources({
        sourceBucket: await text('self:custom.sourceBucketName'),
        acceptSourceBuckets: await text('param:acceptSourceBuckets'),
        adoptedBucket: await text('self:custom.adoptedBucketName'),
        inventoryBucket: await text('self:custom.inventoryBucketName'),
      });
    } catch (error) {
      const UserError = this.serverless.classes?.Error ?? Error;
      throw new UserError((error as Error).message);
    }
    if (!address || !Object.hasOwn(sources, address))
      throw new Error(`\${liveSources:${address ?? ''}}: not one of ${Object.keys(sources).join(', ')}`);
    return { value: sources[address as keyof LiveSources] };
  }

  /** The buckets the stack creates get valid names: a stage in capitals or too long is refused here, named. */
  private checkNames(): void {
    const { inventoryBucketName, sourceBucketName, createSourceBucket } = this.serverless.service.custom ?? {};
    const created = [inventoryBucketName, String(createSourceBucket) === 'true' ? sourceBucketName : undefined];
    for (const name of created) {
      const problem = name === undefined ? undefined : bucketNameProblem(name);
      if (!problem) continue;
      const UserError = this.serverless.classes?.Error ?? Error;
      throw new UserError(
        `the bucket name "${name}" (from stage "${this.serverless.getProvider('aws').getStage()}" and namePrefix) ${problem}: ` +
          'choose a lower-case stage, shorter, or --param="namePrefix=<your prefix>"',
      );
    }
  }

  /** Live publishing with a message field or a filter an S3 event cannot serve is refused, named. */
  private checkLive(): void {
    if (String(this.serverless.service.custom?.live) !== 'true') return;
    const problem = liveSelectionProblem(this.serverless.service.provider?.environment ?? {});
    if (!problem) return;
    const UserError = this.serverless.classes?.Error ?? Error;
    throw new UserError(`live=true: ${problem}`);
  }

  /**
   * What the stack uses but does not create, with the deploying account's credentials: an existing
   * source bucket in the stack's region; an adopted inventory bucket in it too, and readable under
   * its prefix; an existing target queue reachable. Each refusal names what is wrong.
   */
  private async checkBuckets(): Promise<void> {
    const { sourceBucketName, createSourceBucket, adoptedBucketName, adoptedInventoryPrefix, existingQueueArn } =
      this.serverless.service.custom ?? {};
    const existingSource = sourceBucketName && String(createSourceBucket) !== 'true';
    if (!existingSource && !adoptedBucketName && !existingQueueArn) return;
    const provider = this.serverless.getProvider('aws');
    const region = provider.getRegion();
    const endpoint = process.env.AWS_ENDPOINT_URL?.trim();
    // The account's credentials, profile and region: the settings any SDK v3 client takes.
    const settings: { region: string } = {
      ...(await provider.getAwsSdkV3Config?.()),
      region,
      ...(endpoint && { endpoint }),
    };
    const requestHandler = () => new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 15_000, throwOnRequestTimeout: true });
    const s3 = new S3Client({ ...settings, forcePathStyle: Boolean(endpoint), requestHandler: requestHandler() });
    const sqs = new SQSClient({ ...settings, requestHandler: requestHandler() });
    try {
      if (existingSource) await assertBucketInRegion(s3, sourceBucketName, region);
      if (adoptedBucketName) {
        await assertBucketInRegion(s3, adoptedBucketName, region, ADOPTED_INVENTORY_BUCKET);
        await assertReportsReadable(s3, adoptedBucketName, adoptedInventoryPrefix ?? '');
      }
      if (existingQueueArn) await assertQueueReachable(sqs, existingQueueArn);
    } catch (error) {
      const UserError = this.serverless.classes?.Error ?? Error;
      throw new UserError((error as Error).message);
    } finally {
      s3.destroy();
      sqs.destroy();
    }
  }
}

/** What is wrong with a bucket name by S3's rules, or undefined. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `has ${name.length} characters, not 3 to 63`;
  if (/[^a-z0-9.-]/.test(name)) return 'may hold only lower-case letters, digits, dots and hyphens';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must begin and end with a letter or a digit';
  if (name.includes('..')) return 'must not hold two dots in a row';
  return undefined;
}
