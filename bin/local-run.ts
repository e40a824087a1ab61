import { parseArgs } from 'node:util';
import { wholeNumberOption } from '../lib/cli/options.ts';
import { runLocalDemo, type DemoMode } from '../lib/local/demo.ts';
import { stderrLog } from '../lib/cli/stderr-log.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '500' },
    files: { type: 'string', default: '4' },
    workers: { type: 'string', default: '4' },
    'time-budget-ms': { type: 'string' },
    mode: { type: 'string', default: 'inventory' },
    json: { type: 'boolean', default: false },
  },
});
if (values.mode !== 'inventory' && values.mode !== 'backfill') throw new Error(`--mode "${values.mode}" must be inventory or backfill`);
const budget = values['time-budget-ms'];

const json = values.json;
// With --json, stdout carries only the summary line: the handlers then log warnings and errors only.
if (json) process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const [inventory, worker, deadLetter, backfill] = await Promise.all([
  import('../handlers/inventory.ts'),
  import('../handlers/worker.ts'),
  import('../handlers/dead-letter.ts'),
  import('../handlers/backfill.ts'),
]);

const result = await runLocalDemo({
  objects: wholeNumberOption('objects', values.objects, 0),
  files: wholeNumberOption('files', values.files, 1),
  workers: wholeNumberOption('workers', values.workers, 1),
  ...(budget !== undefined && { timeBudgetMs: wholeNumberOption('time-budget-ms', budget, 1) }),
  mode: values.mode as DemoMode,
  handlers: {
    inventory: (event) => inventory.handler(event),
    worker: (event) => worker.handler(event),
    deadLetter: (event) => deadLetter.handler(event),
    backfill: (event) => backfill.handler(event),
  },
  log: stderrLog(false),
  onStep: (line) => {
    if (!json) console.log(line);
  },
});
if (json) {
  console.log(JSON.stringify(result));
} else {
  const parts = result.parts === undefined ? '' : ` by ${result.parts} parts with ${result.continuations} continuations`;
  console.log(
    `${result.published} messages were published in total${parts} in ${(result.durationMs / 1000).toFixed(2)} s ` +
      `(${result.messagesPerSecond} messages/s); the queue holds ${result.queueDepth}.`,
  );
}
