import { execFile } from 'node:child_process';
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
