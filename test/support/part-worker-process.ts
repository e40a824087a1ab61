// Runs one part task in a process of its own, configured like the worker function, so that a test
// can kill it mid-part. Arguments: the task's message body and its message id.
import { parsePartTask } from '../../lib/run/part-task.ts';
import { runPartTask } from '../../lib/run/part-worker.ts';
import { workerContextFromEnvironment } from '../../lib/run/worker-context.ts';
import { silentLog } from './emulator.ts';

const [body = '', owner = ''] = process.argv.slice(2);
const context = await workerContextFromEnvironment(process.env, silentLog);
await runPartTask(parsePartTask(body), owner, context);
