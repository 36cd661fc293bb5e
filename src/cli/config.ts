// `brainstrip config check`: validates the configuration the way `serve` does at start, without opening a port,
// and prints every effective value with its source.
import { checkConfig, ConfigError } from '../../config/schema.js';
import { describeSource } from '../../config/sources.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip config check [--config site.json]

Validates the configuration (defaults < --config file or BRAINSTRIP_CONFIG < environment) as \`brainstrip serve\`
does at start, without opening any port, and prints each effective value with its source (default, the file,
or the environment variable); secrets are masked. Exit status 0 when valid, 2 with one message per problem.`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand('config', USAGE, argv, {});
  if (typeof parsed === 'number') return parsed;
  if (parsed.positionals.length !== 1 || parsed.positionals[0] !== 'check') {
    console.error(`brainstrip config: expected 'check'${parsed.positionals.length ? `, not '${parsed.positionals.join(' ')}'` : ''}\n\n${USAGE}`);
    return 2;
  }
  let checked: ReturnType<typeof checkConfig>;
  try {
    checked = checkConfig({ file: parsed.values.config });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`brainstrip config check: ${error.message}`);
    return 2;
  }
  const rows = checked.values.map((v) => [v.key, typeof v.value === 'string' && v.secret ? v.value : JSON.stringify(v.value), describeSource(v)]);
  const width = (column: number) => Math.max(...rows.map((row) => row[column].length));
  console.log(`the configuration is valid${checked.file ? ` (file ${checked.file})` : ' (no file: defaults and environment)'}\n`);
  for (const [key, value, source] of rows) console.log(`${key.padEnd(width(0))}  ${value.padEnd(width(1))}  ${source}`);
  return 0;
}
