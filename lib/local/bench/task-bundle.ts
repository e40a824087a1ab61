import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const TASK_SOURCE = fileURLToPath(new URL('../../../bin/bench-task.ts', import.meta.url));

/**
 * How the functions are bundled (serverless.yml, `custom.esbuild`): one minified file with its
 * names kept. The tasks run so, because a bundle loads in less memory than the ~1,000 modules it
 * is made of (about 25 MB of RSS), and that memory is what a function's peak is measured against.
 * ES module output only because the task script awaits at its top level; a banner gives the
 * CommonJS dependencies the `require` they call Node's modules with.
 */
export const FUNCTION_BUNDLE_OPTIONS = { bundle: true, minify: true, keepNames: true, sourcemap: false } as const;

/** A bundled task script, and how to delete the temporary folder it is in. */
export interface TaskBundle {
  script: string;
  remove: () => Promise<void>;
}

/** `bin/bench-task.ts` bundled as the functions are, in a temporary folder that `remove` deletes. */
export async function bundleTaskScript(): Promise<TaskBundle> {
  const folder = await mkdtemp(join(tmpdir(), 'bench-task-'));
  const script = join(folder, 'bench-task.mjs');
  await build({
    ...FUNCTION_BUNDLE_OPTIONS,
    entryPoints: [TASK_SOURCE],
    outfile: script,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return { script, remove: () => rm(folder, { recursive: true, force: true }) };
}
