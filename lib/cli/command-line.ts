import { type ParseArgsOptionDescriptor, parseArgs } from 'node:util';
import { EXIT_BAD_INPUT, PipelineError } from '../core/errors.ts';

/** One option of a command, as `parseArgs` takes it, with the line `--help` shows for it. */
export interface CommandOption extends ParseArgsOptionDescriptor {
  description: string;
}

export type CommandOptions = Record<string, CommandOption>;

/** A command's name as typed (`npm start --`), what it does, and its options. */
export interface CommandSpec<T extends CommandOptions> {
  command: string;
  summary: string;
  options: T;
}

type Values<T extends CommandOptions> = ReturnType<typeof parseArgs<{ options: T; strict: true }>>['values'];

/**
 * A command's options, parsed and checked: `read` turns the raw values into the command's settings
 * and throws (an InvalidArgumentError from `wholeNumberOption`, say) on a bad one. `--help` prints
 * the help and exits 0. An unknown or malformed option, or a value `read` refuses, ends the
 * command with one line naming it, the usage, and exit 2: never a stack trace.
 */
export function commandLine<T extends CommandOptions, R>(
  spec: CommandSpec<T>,
  read: (values: Values<T>) => R,
  argv = process.argv.slice(2),
): R {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${help(spec)}\n`);
    process.exit(0);
  }
  try {
    const args = joinNegativeValues(argv, spec.options);
    return read(parseArgs({ args, options: spec.options, strict: true, allowPositionals: false }).values);
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (!code?.startsWith('ERR_PARSE_ARGS') && !(error instanceof PipelineError)) throw error;
    // Node's own messages go on with advice about positional arguments: the first sentence names the option.
    process.stderr.write(`error: ${code?.startsWith('ERR_PARSE_ARGS') ? (message.split(/\.\s/)[0] ?? message) : message}\n`);
    process.stderr.write(`${usage(spec.command, spec.options)}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
}

/**
 * `--objects -5` as `--objects=-5`: parseArgs takes a value after a space only when it does not
 * start with a dash, and would call a negative number ambiguous, where the command's own check
 * names the option and what it accepts.
 */
function joinNegativeValues(argv: readonly string[], options: CommandOptions): string[] {
  const args: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    const next = argv[index + 1];
    const option = arg.startsWith('--') ? options[arg.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      index += 1;
    } else args.push(arg);
  }
  return args;
}

/** `usage: npm start -- [--objects=500] [--shard-rows=<value>] [--json]`: each option, with its default. */
export function usage(command: string, options: CommandOptions): string {
  const each = Object.entries(options).map(([name, option]) => {
    if (option.type === 'boolean') return `[--${name}]`;
    const fallback = Array.isArray(option.default) ? undefined : option.default;
    return `[--${name}=${fallback ?? '<value>'}]${option.multiple ? '...' : ''}`;
  });
  return `usage: ${command} ${[...each, '[--help]'].join(' ')}`;
}

/** What `--help` prints: the summary, the usage, then one line per option with its default. */
export function help({ command, summary, options }: CommandSpec<CommandOptions>): string {
  const names = Object.entries(options).map(
    ([name, option]) => [option.type === 'string' ? `--${name} <value>` : `--${name}`, option] as const,
  );
  const width = Math.max(...names.map(([name]) => name.length), '--help'.length);
  const lines = names.map(([name, option]) => {
    const fallback = option.type === 'string' && typeof option.default === 'string' ? ` (default ${option.default})` : '';
    return `  ${name.padEnd(width)}  ${option.description}${fallback}`;
  });
  return [summary, '', usage(command, options), '', ...lines, `  ${'--help'.padEnd(width)}  print this help and exit`].join('\n');
}
