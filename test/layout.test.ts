import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it, onTestFinished } from 'vitest';
import { describeCircle, importCircles, importGraph } from './support/import-graph.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOCAL = 'lib/local/';

/**
 * Bundles the entry points as serverless-esbuild would (npm packages left out) and returns, per
 * entry point, the project files its import graph reaches, relative to the project's root. The
 * graph is walked from the metafile's imports rather than read from the output, so that an import
 * esbuild drops as unused still counts.
 */
async function reachedFiles(entryPoints: string[]): Promise<Map<string, string[]>> {
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: 'out',
    logLevel: 'silent',
  });
  const reached = new Map<string, string[]>();
  for (const output of Object.values(metafile.outputs)) {
    if (!output.entryPoint) continue;
    const seen = new Set([output.entryPoint]);
    for (const file of seen) {
      for (const { path, external } of metafile.inputs[file]?.imports ?? []) if (!external) seen.add(path);
    }
    reached.set(output.entryPoint, [...seen]);
  }
  return reached;
}

const localImports = (reached: Map<string, string[]>) =>
  [...reached].flatMap(([entry, inputs]) => inputs.filter((input) => input.startsWith(LOCAL)).map((input) => `${entry} → ${input}`));

const tsFiles = async (folder: string) =>
  (await readdir(join(ROOT, folder), { recursive: true })).filter((name) => name.endsWith('.ts')).map((name) => join(folder, name));

describe('what ships never reaches lib/local/', () => {
  it('no handler imports lib/local/, directly or through lib/', async () => {
    const handlers = await tsFiles('handlers');
    const reached = await reachedFiles(handlers);
    expect(reached.size).toBe(handlers.length);
    expect(reached.get('handlers/worker.ts')).toContain('lib/run/part-worker.ts');
    expect(localImports(reached)).toEqual([]);
  });

  it('no folder of lib/ but lib/local/ itself imports lib/local/', async () => {
    const shipped = (await tsFiles('lib')).filter((file) => !file.startsWith(LOCAL));
    const reached = await reachedFiles(shipped);
    expect(reached.size).toBe(shipped.length);
    expect(localImports(reached)).toEqual([]);
  });

  it('the check sees an import of lib/local/ two modules deep', async () => {
    const folder = await scratchFolder('layout-');
    const middle = join(folder, 'middle.ts');
    const entry = join(folder, 'entry.ts');
    await writeFile(middle, `export { serveEmulator } from ${JSON.stringify(join(ROOT, LOCAL, 'emulator.ts'))};\n`);
    await writeFile(entry, `export * from ${JSON.stringify(middle)};\n`);
    expect(localImports(await reachedFiles([entry]))).toContainEqual(expect.stringMatching(/entry\.ts → lib\/local\/emulator\.ts$/));
  });
});

describe('imports point one way', () => {
  it('no import circle in lib/, handlers/ or bin/, type-only imports included', async () => {
    const circles = importCircles(await importGraph(ROOT, ['lib', 'handlers', 'bin']));
    expect(circles.map((circle) => describeCircle(ROOT, circle))).toEqual([]);
  });

  it('the check sees a circle of three modules, one link of it type-only', async () => {
    const folder = await scratchFolder('circle-');
    await mkdir(join(folder, 'lib'));
    await writeFile(join(folder, 'lib', 'a.ts'), "import { b } from './b.ts';\nexport const a = b;\n");
    await writeFile(join(folder, 'lib', 'b.ts'), "export { c as b } from './c.ts';\n");
    await writeFile(join(folder, 'lib', 'c.ts'), "import type { a } from './a.ts';\nexport const c = 1;\n");
    await writeFile(join(folder, 'lib', 'd.ts'), "import { a } from './a.ts';\nexport const d = a;\n");
    const circles = importCircles(await importGraph(folder, ['lib']));
    expect(circles.map((circle) => describeCircle(folder, circle))).toEqual(['lib/a.ts → lib/b.ts → lib/c.ts → lib/a.ts']);
  });
});

/** A folder of its own for the test, removed when it ends. */
async function scratchFolder(prefix: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}
