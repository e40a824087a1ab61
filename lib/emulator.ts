import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { buildApp } from 'fauxqs';
import { enforceConditionalWrites } from './emulator-conditional-writes.ts';
import { compareUtf8 } from './utf8-order.ts';

export interface Emulator {
  /** Base URL for `AWS_ENDPOINT_URL`. */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export const EMULATOR_REGION = 'us-east-1';

/**
 * Serves the fauxqs S3 + SQS emulator from this thread, bound to loopback only (fauxqs's own start
 * function listens on every interface), with S3's key order and conditional writes. Port 0
 * picks a free port. Call it only in a thread or process of its own: it changes how strings
 * compare there.
 */
export async function serveEmulator(port = 0): Promise<Emulator> {
  listKeysInS3Order();
  const app = buildApp({ logger: false, defaultRegion: EMULATOR_REGION });
  enforceConditionalWrites(app);
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${address.port}`, port: address.port, stop: () => app.close() };
}

/**
 * S3 lists keys in UTF-8 binary order ("B" before "a"); fauxqs 2.4.1 sorts them with
 * localeCompare ("a" before "B"), which would hide keys from a lister that stops at the end of its
 * range. In the emulator's own thread, localeCompare is made to compare as S3 does.
 */
function listKeysInS3Order(): void {
  String.prototype.localeCompare = function localeCompare(this: string, that: string): number {
    return compareUtf8(String(this), String(that));
  };
}

/**
 * Starts the emulator in a worker thread of this process, so that the AWS SDK in this thread and
 * the emulator answering it run on separate cores, as client and AWS do.
 */
export async function startEmulator(options: { port?: number } = {}): Promise<Emulator> {
  const worker = new Worker(new URL('./emulator-thread.ts', import.meta.url), { workerData: { port: options.port ?? 0 } });
  const [port] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([error]) => Promise.reject(error))])) as [number];
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
