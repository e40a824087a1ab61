import { Logger } from '@aws-lambda-powertools/logger';
import type { Environment } from './config.ts';

/** The service's name in logs and metric dimensions: the stack sets `POWERTOOLS_SERVICE_NAME`. */
export function serviceName(env: Environment = process.env): string {
  return env.POWERTOOLS_SERVICE_NAME || 's3-to-sqs';
}

/** Every handler's logger: JSON lines in Lambda, with the invocation's context once it is added. */
export function createLogger(env: Environment = process.env): Logger {
  return new Logger({ serviceName: serviceName(env) });
}
