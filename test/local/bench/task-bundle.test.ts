import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bundleTaskScript, FUNCTION_BUNDLE_OPTIONS } from '../../../lib/local/bench/task-bundle.ts';

describe('the benchmark tasks, bundled as the functions are', () => {
  it('uses the settings of serverless.yml, custom.esbuild', async () => {
    const template = await readFile(new URL('../../../serverless.yml', import.meta.url), 'utf8');
    const block = /^ {2}esbuild:\n((?: {4}.*\n|\s*#.*\n)+)/m.exec(template)?.[1] ?? '';
    const settings = Object.fromEntries([...block.matchAll(/^ {4}(\w+): (\S+)$/gm)].map(([, name, value]) => [name, value]));
    for (const [name, value] of Object.entries(FUNCTION_BUNDLE_OPTIONS)) expect(settings[name], name).toBe(String(value));
  });

  it('runs from one file, which remove deletes', async () => {
    const { script, remove } = await bundleTaskScript();
    try {
      const run = promisify(execFile)(process.execPath, [script, 'no-such-task']);
      await expect(run).rejects.toThrow(/unknown task "no-such-task"; one of parse, /);
    } finally {
      await remove();
    }
    expect(existsSync(dirname(script))).toBe(false);
  });
});
