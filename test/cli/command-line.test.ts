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

describe('every command answers --help with what it does and its options, and exit 0', () => {
  for (const [command, script] of [
    ['npm start', 'local-run.ts'],
    ['npm run bench', 'bench.ts'],
    ['npm run chaos', 'chaos.ts'],
    ['npm run emulator', 'emulator.ts'],
  ]) {
    it(`${command} -- --help`, async () => {
      const result = await run(script as string, ['--help']);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      const [summary, blank, usage, ...options] = result.stdout.trimEnd().split('\n');
      expect(summary).toMatch(/^[A-Z].+\.$/);
      expect(blank).toBe('');
      expect(usage).toMatch(new RegExp(`^usage: ${command} -- \\[--.*\\[--help\\]$`));
      expect(options.at(-1)).toMatch(/^ {2}--help +print this help and exit$/);
    });
  }
});

describe('npm start refuses what it cannot do with one line and exit 2', () => {
  it.each([
    [['--log', '/nonexistent/dir/x.log'], 'error: --log "/nonexistent/dir/x.log" cannot be written: ENOENT', false],
    [['--objects', '-5'], 'error: --objects "-5" must be a whole number of at least 0', true],
  ])('%j', async (args, message, withUsage) => {
    const result = await run('local-run.ts', args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(message);
    expect(lines).toHaveLength(withUsage ? 2 : 1);
  });
});
