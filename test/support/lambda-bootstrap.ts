// Runs one function of a packaged bundle the way the Node.js Lambda runtime does: the handler
// setting `<module path>.<export>` is resolved in LAMBDA_TASK_ROOT by trying `.js`, `.mjs` and
// `.cjs` in that order, and the export must be a function. Invocations arrive over IPC from
// test/support/packaged-functions.ts, one at a time, with a context shaped as Lambda's.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Invocation {
  id: number;
  event: unknown;
  invokedFunctionArn: string;
  deadline: number;
}

const root = process.env.LAMBDA_TASK_ROOT ?? '';
const setting = process.env._HANDLER ?? '';
const dot = setting.lastIndexOf('.');
const [modulePath, exportName] = [setting.slice(0, dot), setting.slice(dot + 1)];

async function loadHandler(): Promise<(event: unknown, context: unknown) => Promise<unknown>> {
  const file = ['.js', '.mjs', '.cjs'].map((extension) => join(root, `${modulePath}${extension}`)).find((path) => existsSync(path));
  if (dot <= 0 || !file) throw new Error(`Runtime.ImportModuleError: Cannot find module '${modulePath}' in ${root} (handler "${setting}")`);
  const module = file.endsWith('.cjs') ? createRequire(file)(file) : await import(pathToFileURL(file).href);
  const handler = module[exportName];
  if (typeof handler !== 'function') throw new Error(`Runtime.HandlerNotFound: ${modulePath}.${exportName} is undefined or not exported`);
  return handler;
}

const loaded = loadHandler();
loaded.catch(() => undefined);
let requests = 0;

process.on('message', async ({ id, event, invokedFunctionArn, deadline }: Invocation) => {
  requests += 1;
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? '';
  const context = {
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: `local-${process.pid}-${requests}`,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await (await loaded)(event, context);
    process.send?.({ id, result: result ?? null });
  } catch (error) {
    process.send?.({ id, error: { name: (error as Error).name, message: (error as Error).message } });
  }
});
