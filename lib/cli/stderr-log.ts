import type { Log } from '../core/types.ts';

/** The CLI's log: one line per entry on stderr, so stdout carries only results. */
export function stderrLog(verbose: boolean): Log {
  const write =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) => {
      const details = extra.length > 0 ? ` ${JSON.stringify(Object.assign({}, ...extra))}` : '';
      process.stderr.write(`${level}: ${message}${details}\n`);
    };
  const quiet = () => {};
  return {
    debug: verbose ? write('debug') : quiet,
    info: verbose ? write('info') : quiet,
    warn: write('warning'),
    error: write('error'),
  };
}
