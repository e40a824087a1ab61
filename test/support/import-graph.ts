import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

/**
 * Every relative import of the `.ts` files under `folders` of `root`, type-only imports and
 * re-exports included (a circle of types is a circle of modules all the same): file → imported files.
 */
export async function importGraph(root: string, folders: string[]): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const folder of folders) {
    for (const name of await readdir(join(root, folder), { recursive: true })) {
      if (!name.endsWith('.ts')) continue;
      const file = join(folder, name);
      const { importedFiles } = ts.preProcessFile(await readFile(join(root, file), 'utf8'), true, true);
      graph.set(
        file,
        importedFiles.filter(({ fileName }) => fileName.startsWith('.')).map(({ fileName }) => normalize(join(dirname(file), fileName))),
      );
    }
  }
  return graph;
}

/** The import circles of a graph, each as the files on it from its first file back to that file. */
export function importCircles(graph: Map<string, string[]>): string[][] {
  const circles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') circles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return circles;
}

export const describeCircle = (root: string, circle: string[]) => circle.map((file) => relative(root, join(root, file))).join(' → ');
