import { parseArgs } from 'node:util';
import { runLocalDemo, type DemoMode } from '../lib/local-demo.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '500' },
    files: { type: 'string', default: '4' },
    mode: { type: 'string', default: 'inventory' },
    json: { type: 'boolean', default: false },
  },
});
const objects = Number(values.objects);
const files = Number(values.files);
if (!Number.isInteger(objects) || objects < 0) throw new Error(`--objects "${values.objects}" must be a whole number`);
if (!Number.isInteger(files) || files < 1) throw new Error(`--files "${values.files}" must be a whole number of at least 1`);
if (values.mode !== 'inventory' && values.mode !== 'backfill') throw new Error(`--mode "${values.mode}" must be inventory or backfill`);

const json = values.json;
// With --json, stdout carries only the summary line: the handlers then log warnings and errors only.
if (json) process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const [{ handler: inventory }, { handler: backfill }] = await Promise.all([
  import('../handlers/inventory.ts'),
  import('../handlers/backfill.ts'),
]);

const result = await runLocalDemo({
  objects,
  files,
  mode: values.mode as DemoMode,
  handlers: { inventory, backfill: (event) => backfill(event) },
  onStep: (line) => {
    if (!json) console.log(line);
  },
});
if (json) {
  console.log(JSON.stringify(result));
} else {
  console.log(
    `${result.published} messages were published in total in ${(result.durationMs / 1000).toFixed(2)} s ` +
      `(${result.messagesPerSecond} messages/s); the queue holds ${result.queueDepth}.`,
  );
}
