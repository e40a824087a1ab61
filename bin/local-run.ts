import { parseArgs } from 'node:util';
import { runLocalDemo } from '../lib/local-demo.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '500' },
    files: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
  },
});
const json = values.json;
// With --json, stdout carries only the summary line: the handler then logs warnings and errors only.
if (json) process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const { handler } = await import('../handlers/inventory.ts');
const log = (line: string) => {
  if (!json) console.log(line);
};

const result = await runLocalDemo({
  objects: Number(values.objects),
  files: Number(values.files),
  deliver: (event) => handler(event),
  onStep: log,
});
if (json) {
  console.log(JSON.stringify(result));
} else {
  console.log(
    `${result.published} messages were published in total in ${(result.durationMs / 1000).toFixed(2)} s ` +
      `(${result.messagesPerSecond} messages/s); the queue holds ${result.queueDepth}.`,
  );
}
