import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { EXIT_BAD_INPUT, EXIT_RUN_FAILED, PipelineError } from '../core/errors.ts';

type Values<T extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: T; strict: true }>>['values'];

/**
 * A command's options, parsed and checked: `read` turns the raw values into the command's settings
 * and throws (an InvalidArgumentError from `wholeNumberOption`, say) on a bad one. An unknown or
 * malformed option, or a value `read` refuses, ends the command with one line naming it, the
 * usage, and exit 2: never a stack trace.
 */
export function commandLine<T extends ParseArgsOptionsConfig, R>(
  command: string,
  options: T,
  read: (values: Values<T>) => R,
  argv = process.argv.slice(2),
): R {
  try {
    return read(parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values);
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (!code?.startsWith('ERR_PARSE_ARGS') && !(error instanceof PipelineError)) throw error;
    // Node's own messages go on with advice about positional arguments: the first sentence names the option.
    process.stderr.write(`error: ${code?.startsWith('ERR_PARSE_ARGS') ? (message.split(/\.\s/)[0] ?? message) : message}\n`);
    process.stderr.write(`${usage(command, options)}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
}

/** `usage: npm start -- [--objects=500] [--shard-rows=<value>] [--json]`: each option, with its default. */
export function usage(command: string, options: ParseArgsOptionsConfig): string {
  const each = Object.entries(options).map(([name, option]) => {
    if (option.type === 'boolean') return `[--${name}]`;
    const fallback = Array.isArray(option.default) ? undefined : option.default;
    return `[--${name}=${fallback ?? '<value>'}]${option.multiple ? '...' : ''}`;
  });
  return `usage: ${command} ${each.join(' ')}`;
}

/** The exit code for an error that ended a command: its class's (2 bad input, 1 failed run), else 1. */
export function exitCodeOf(error: unknown): number {
  return error instanceof PipelineError ? error.exitCode : EXIT_RUN_FAILED;
}
