// One worker invocation in a process of its own, configured from the environment as the worker
// function is, so that a test or the chaos check can kill it mid-part as a crash would.
// Arguments: the task's message body and its message id. Exit code 0 when the task ended well.
import { parseWorkTask } from '../run/part-task.ts';
import { runWorkTask } from '../run/part-worker.ts';
import { workerContextFromEnvironment } from '../run/worker-context.ts';
import type { Log } from '../core/types.ts';

const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} };
const [body = '', owner = ''] = process.argv.slice(2);
const context = await workerContextFromEnvironment(process.env, quiet);
const budget = context.timeBudgetMs === undefined ? undefined : AbortSignal.timeout(context.timeBudgetMs);
try {
  await runWorkTask(parseWorkTask(body), owner, context, budget);
} catch (error) {
  process.stderr.write(`worker process: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
