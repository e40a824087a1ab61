import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/cli.ts', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (the --json summary). */
  json<T = Record<string, unknown>>(): T;
}

/** Runs `npm run cli -- <args>` as its own process, with this process's environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout,
        stderr,
        json: <T>() => JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T,
      });
    });
  });
}

/** Starts the CLI without waiting for it: to interrupt it as a person would with Ctrl-C. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; result: Promise<CliResult>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const result = new Promise<CliResult>((resolve) =>
    child.on('close', (code) =>
      resolve({ code: code ?? 1, stdout, stderr, json: <T>() => JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T }),
    ),
  );
  return { child, result, stderr: () => stderr };
}
