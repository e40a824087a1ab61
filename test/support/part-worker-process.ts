// Runs one part task in a process of its own, configured like the worker function, so that a test
// can kill it mid-part. Arguments: the task's message body and its message id.
import { parsePartTask } from '../../lib/part-task.ts';
import { runPartTask } from '../../lib/part-worker.ts';
import { workerContextFromEnvironment } from '../../lib/worker-context.ts';
import { silentLog } from './emulator.ts';

const [body = '', owner = ''] = process.argv.slice(2);
const context = await workerContextFromEnvironment(process.env, silentLog);
await runPartTask(parsePartTask(body), owner, context);
