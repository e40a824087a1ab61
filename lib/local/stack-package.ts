import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SLS = join(ROOT, 'node_modules/osls/bin/serverless.js');

/** One way the README documents to deploy the stack: a stage, a region and params. */
export interface StackVariant {
  name: string;
  stage: string;
  region: string;
  params: Record<string, string>;
}

const variant = (name: string, params: Record<string, string> = {}, stage = 'test', region = 'eu-west-1'): StackVariant => ({
  name,
  stage,
  region,
  params,
});

/** Every variant the README documents; `npm run lint:stack` and the template tests check each. */
export const STACK_VARIANTS = {
  byDefault: variant('default'),
  existingBucket: variant('existing bucket', { sourceBucket: 'acme-photos', createSourceBucket: 'false' }),
  existingQueue: variant('existing queue', { queueArn: 'arn:aws:sqs:eu-west-1:111122223333:their-objects.fifo' }),
  existingQueueWithKey: variant('existing queue with KMS key', {
    queueArn: 'arn:aws:sqs:eu-west-1:111122223333:their-objects.fifo',
    queueKmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  }),
  standardQueue: variant('standard queue, S3-event messages', { queueType: 'standard', messageFormat: 's3-event' }),
  alarmEmail: variant('alarm e-mail', { alarmEmail: 'ops@example.com' }),
  changedWithFields: variant('changed mode with message fields', { publishMode: 'changed', messageFields: 'size,etag,versionId' }),
  parquetInventory: variant('Parquet inventory', { inventoryFormat: 'Parquet' }),
  live: variant('live publishing, missed mode', { live: 'true', publishMode: 'missed' }),
  liveExistingBucket: variant('live publishing on an existing bucket', {
    live: 'true',
    sourceBucket: 'acme-photos',
    createSourceBucket: 'false',
  }),
  adoptedInventory: variant('adopted inventory', {
    adoptInventoryBucket: 'acme-inventories',
    adoptInventoryPrefix: 'inventory/daily',
    acceptSourceBuckets: 'acme-photos,acme-videos',
    createInventory: 'false',
  }),
  liveAdoptedSources: variant("live publishing of an adopted inventory's source buckets", {
    live: 'true',
    publishMode: 'missed',
    adoptInventoryBucket: 'acme-inventories',
    adoptInventoryPrefix: 'inventory/daily',
    acceptSourceBuckets: 'acme-photos,acme-videos',
    createInventory: 'false',
  }),
  adoptedFromOtherAccount: variant('adopted inventory of another account, SSE-KMS, no prefix', {
    adoptInventoryBucket: 'their-inventories',
    adoptInventoryAccount: '444455556666',
    adoptInventoryKmsKeyArn: 'arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    acceptConfigurationIds: 'daily-parquet',
  }),
  // The longest stage the README names, in a region of the longest name.
  longNames: variant('long stage and region', {}, 'production', 'ap-southeast-2'),
} satisfies Record<string, StackVariant>;

/**
 * Runs the `sls` command of this project with no AWS credentials in its environment, and its
 * standard input closed (`sls invoke local` reads an event from it when it is not a terminal).
 * One at a time across processes: esbuild bundles into the project folder, and vitest runs test
 * files in parallel, so two packagings at once could mix their bundles.
 */
export async function sls(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^AWS_(ACCESS|SECRET|SESSION|PROFILE)/.test(name)));
  return oneAtATime(() => {
    const running = promisify(execFile)(process.execPath, [SLS, ...args], { cwd: ROOT, env: { ...clean, ...env }, maxBuffer: 16 << 20 });
    running.child.stdin?.end();
    return running;
  });
}

const LOCK = join(ROOT, '.sls.lock');
/** A lock left by a process that died is taken over after this long (no packaging takes it). */
const STALE_LOCK_MS = 300_000;

/** Runs `work` while holding the project's lock, a directory: creating one is atomic. */
async function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = await stat(LOCK).then(
        (lock) => Date.now() - lock.mtimeMs,
        () => 0,
      );
      if (held > STALE_LOCK_MS) await rm(LOCK, { recursive: true, force: true });
      await sleep(100);
    }
  }
  try {
    return await work();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/**
 * `sls package` of one variant into a new folder (packaging runs esbuild in the project folder:
 * package variants one after another). Returns the paths of the CloudFormation templates written;
 * `removePackage` removes them.
 */
export async function packageStack(stack: StackVariant): Promise<string[]> {
  const out = await mkdtemp(join(tmpdir(), 'sls-package-'));
  const params = Object.entries(stack.params).map(([name, value]) => `--param=${name}=${value}`);
  try {
    await sls(['package', '--stage', stack.stage, '--region', stack.region, '--package', out, ...params]);
  } catch (error) {
    await rm(out, { recursive: true, force: true });
    throw error;
  }
  return (await readdir(out)).filter((name) => /^cloudformation-template-.*\.json$/.test(name)).map((name) => join(out, name));
}

/** Removes the folder `packageStack` wrote its templates (and the functions' zips) into. */
export async function removePackage(templates: string[]): Promise<void> {
  if (templates[0]) await rm(dirname(templates[0]), { recursive: true, force: true });
}

/** The template that `sls deploy` would send for an update, parsed. */
export async function packageTemplate<T>(stack: StackVariant): Promise<T> {
  const templates = await packageStack(stack);
  try {
    const update = templates.find((path) => path.endsWith('cloudformation-template-update-stack.json'));
    if (!update) throw new Error(`sls package wrote no update template for the ${stack.name} variant`);
    return JSON.parse(await readFile(update, 'utf8')) as T;
  } finally {
    await removePackage(templates);
  }
}
