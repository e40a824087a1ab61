import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = (script: string, args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const path = fileURLToPath(new URL(`../../bin/${script}`, import.meta.url));
    execFile(process.execPath, [path, ...args], (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });

describe('every command answers a bad option with one line naming it, the usage, and exit 2', () => {
  const cases: Array<[string, string, string[], string]> = [
    ['npm start', 'local-run.ts', ['--objetcs', '100'], "error: Unknown option '--objetcs'"],
    ['npm start', 'local-run.ts', ['--objects', 'many'], 'error: --objects "many" must be a whole number of at least 0'],
    ['npm start', 'local-run.ts', ['--mode', 'fast'], 'error: --mode "fast" must be inventory, backfill, changed'],
    ['npm run bench', 'bench.ts', ['--rows'], "error: Option '--rows <value>' argument missing"],
    ['npm run chaos', 'chaos.ts', ['--no-such-option'], "error: Unknown option '--no-such-option'"],
    ['npm run emulator', 'emulator.ts', ['--port', 'x'], 'error: --port "x" must be a whole number of at least 0'],
  ];
  for (const [command, script, args, message] of cases) {
    it(`${command} -- ${args.join(' ')}`, async () => {
      const result = await run(script, args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      const [first, second, ...rest] = result.stderr.trimEnd().split('\n');
      expect(first).toBe(message);
      expect(second).toMatch(new RegExp(`^usage: ${command} -- \\[--`));
      expect(rest).toEqual([]);
    });
  }
});
