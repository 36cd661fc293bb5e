// Argument handling shared by the one-shot commands: the same answers to --help and to bad options everywhere.
import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

const common = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

type CommandConfig<O extends Options> = { args: string[]; allowPositionals: true; options: O & typeof common };

/**
 * Parses `argv` for `brainstrip <command>`, with `--config` and `--help` added to `options`. Returns the parsed
 * values, or the exit status when the command should stop here: 0 after printing the usage for --help, 2 after
 * an option it does not know.
 */
export function parseCommand<O extends Options>(command: string, usage: string, argv: string[], options: O): ReturnType<typeof parseArgs<CommandConfig<O>>> | number {
  let parsed: ReturnType<typeof parseArgs<CommandConfig<O>>>;
  try {
    parsed = parseArgs<CommandConfig<O>>({ args: argv, allowPositionals: true, options: { ...options, ...common } });
  } catch (error) {
    console.error(`brainstrip ${command}: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    return 0;
  }
  return parsed;
}
