import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { buildApp } from 'fauxqs';
import { serveBucketNotifications } from './bucket-notifications.ts';
import { enforceConditionalWrites } from './conditional-writes.ts';
import { indexedS3Store } from './s3-index.ts';

export interface Emulator {
  /** Base URL for `AWS_ENDPOINT_URL`. */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export const EMULATOR_REGION = 'us-east-1';

/**
 * Serves the fauxqs S3 + SQS emulator from this thread, bound to loopback only (fauxqs's own start
 * function listens on every interface), with S3's listing order, conditional writes and bucket
 * notification configurations. Port 0 picks a free port.
 */
export async function serveEmulator(port = 0): Promise<Emulator> {
  const app = buildApp({ logger: false, defaultRegion: EMULATOR_REGION, stores: await emulatorStores() });
  enforceConditionalWrites(app);
  serveBucketNotifications(app);
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${address.port}`, port: address.port, stop: () => app.close() };
}

/**
 * fauxqs's stores, its S3 store replaced by one that lists as S3 does. fauxqs exports only its
 * app, so the store classes are loaded from beside it.
 */
async function emulatorStores(): Promise<NonNullable<Parameters<typeof buildApp>[0]>['stores']> {
  const dist = import.meta.resolve('fauxqs');
  const load = (path: string) => import(new URL(path, dist).href);
  const [{ SqsStore }, { SnsStore }, { S3Store }] = await Promise.all([
    load('./sqs/sqsStore.js'),
    load('./sns/snsStore.js'),
    load('./s3/s3Store.js'),
  ]);
  const IndexedS3Store = indexedS3Store(S3Store);
  return { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new IndexedS3Store() };
}

/**
 * Starts the emulator in a worker thread of this process, so that the AWS SDK in this thread and
 * the emulator answering it run on separate cores, as client and AWS do.
 */
export async function startEmulator(options: { port?: number } = {}): Promise<Emulator> {
  const worker = new Worker(new URL('./emulator-thread.ts', import.meta.url), { workerData: { port: options.port ?? 0 } });
  const [port] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([error]) => Promise.reject(error))])) as [
    number,
  ];
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await worker.terminate();
    },
  };
}

/**
 * The variables that point the AWS SDK at an emulator: its endpoint, a region, and dummy
 * credentials (the emulator checks none, but the SDK insists on some).
 */
export function emulatorEnvironment(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: EMULATOR_REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
}
