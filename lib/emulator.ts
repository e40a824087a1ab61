import type { AddressInfo } from 'node:net';
import { buildApp } from 'fauxqs';

export interface Emulator {
  /** Base URL for `AWS_ENDPOINT_URL`. */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export const EMULATOR_REGION = 'us-east-1';

/**
 * Starts the fauxqs S3 + SQS emulator in this process, bound to loopback only (its own start
 * function listens on every interface). Port 0 picks a free port.
 */
export async function startEmulator(options: { port?: number } = {}): Promise<Emulator> {
  const app = buildApp({ logger: false, defaultRegion: EMULATOR_REGION });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, port, stop: () => app.close() };
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
