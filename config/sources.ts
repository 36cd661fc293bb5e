// Where each configuration value came from (default, the file, an environment variable, the program): for the
// message about a value that is not valid, for `brainstrip config check` and for the operations page. Reads the
// same definitions and the same environment as the schema; nothing is validated here, convict does that.
import fs from 'node:fs';
import { nodeSection } from './sections/node.js';
import { sectionsByArea } from './sections/index.js';

/** The schema's definitions: one section per area. */
export const DEFINITIONS = { ...nodeSection, ...sectionsByArea };

/** A configuration that cannot be used, with one message per problem (key, value, source, what is allowed). */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`the configuration is not valid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigValue {
  key: string;
  value: unknown;
  source: 'default' | 'file' | 'environment' | 'set by the program';
  /** The environment variable that sets it. */
  env?: string;
  /** The file it came from, when source is 'file'. */
  file?: string;
  doc: string;
  secret: boolean;
}

/** What was loaded, from where: enough to tell any key's source. */
export interface Provenance {
  file?: string;
  /** The file's parsed content. */
  fromFile: unknown;
  env: NodeJS.ProcessEnv;
  /** Values the program set over everything else; absent when not known (a value that is not the default then counts as set by the program). */
  overrides?: unknown;
}

interface Leaf {
  doc: string;
  default: unknown;
  format: unknown;
  env?: string;
  sensitive?: boolean;
}

export const isLeaf = (v: unknown): v is Leaf => typeof v === 'object' && v !== null && 'default' in v && 'doc' in v;
const SECRET_NAME = /password|secret|token|privatekey|apikey/i;
const MASK = '••••••••';

export function at(object: unknown, key: string): { found: boolean; value?: unknown } {
  let current = object;
  for (const part of key.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.prototype.hasOwnProperty.call(current, part)) return { found: false };
    current = (current as Record<string, unknown>)[part];
  }
  return { found: true, value: current };
}

/** Every leaf of the schema, by its dotted key. */
export function schemaLeaves(): Array<[string, Leaf]> {
  const out: Array<[string, Leaf]> = [];
  const walk = (definitions: Record<string, unknown>, prefix: string) => {
    for (const [name, definition] of Object.entries(definitions)) {
      const key = prefix ? `${prefix}.${name}` : name;
      if (isLeaf(definition)) out.push([key, definition]);
      else if (typeof definition === 'object' && definition !== null) walk(definition as Record<string, unknown>, key);
    }
  };
  walk(DEFINITIONS as Record<string, unknown>, '');
  return out;
}

const isSecret = (key: string, leaf: Leaf | undefined) => !!leaf?.sensitive || SECRET_NAME.test(key.split('.').pop()!);

/** Where the value of `key` came from. */
function sourceOf(key: string, leaf: Leaf | undefined, value: unknown, p: Provenance): Pick<ConfigValue, 'source' | 'env' | 'file'> {
  if (leaf?.env && p.env[leaf.env] !== undefined) return { source: 'environment', env: leaf.env };
  if (p.overrides !== undefined ? at(p.overrides, key).found : leaf && JSON.stringify(value) !== JSON.stringify(leaf.default) && !at(p.fromFile, key).found) {
    return { source: 'set by the program', env: leaf?.env };
  }
  if (at(p.fromFile, key).found) return { source: 'file', file: p.file, env: leaf?.env };
  return { source: 'default', env: leaf?.env };
}

/** The source as a person reads it: default, the file's path, or the environment variable. */
export function describeSource(v: Pick<ConfigValue, 'source' | 'env' | 'file'>): string {
  if (v.source === 'environment') return `environment variable ${v.env}`;
  if (v.source === 'file') return `file ${v.file}`;
  return v.source;
}

/** Every leaf of the schema with its effective value (from `config`) and its source; secrets masked. */
export function configSources(config: Record<string, unknown>, file: string | undefined | Provenance, env: NodeJS.ProcessEnv = process.env): ConfigValue[] {
  const p: Provenance = typeof file === 'object' ? file : { file, fromFile: readFileQuietly(file), env };
  return schemaLeaves().map(([key, leaf]) => {
    const value = at(config, key).value;
    const secret = isSecret(key, leaf);
    return { key, value: secret && value !== '' ? MASK : value, ...sourceOf(key, leaf, value, p), doc: leaf.doc, secret };
  });
}

function readFileQuietly(file: string | undefined): unknown {
  try {
    return file ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  } catch {
    return {};
  }
}

/** The configuration file loadConfig reads: the one given, else BRAINSTRIP_CONFIG. */
export function configFilePath(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return file ?? env.BRAINSTRIP_CONFIG;
}

/** Where in `text` JSON.parse stopped: V8 names the position for most errors, not for a bad literal (`tru}`). */
function jsonErrorOffset(text: string, message: string): number {
  const position = /at position (\d+)/.exec(message);
  if (position) return Number(position[1]);
  if (/Unexpected end/.test(message)) return text.length;
  // The first prefix that fails for another reason than ending early ends at the bad character.
  for (let n = 1; n <= text.length; n++) {
    try {
      JSON.parse(text.slice(0, n));
    } catch (error) {
      const m = (error as Error).message;
      const p = /at position (\d+)/.exec(m);
      if (p ? Number(p[1]) < n : !/Unexpected end/.test(m)) return p ? Number(p[1]) : n - 1;
    }
  }
  return text.length;
}

/** The configuration file's content; a file that cannot be read or is not a JSON object is a ConfigError naming the file (and the line and column). */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`file ${file}: cannot be read (${(error as Error).message})`]);
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const offset = jsonErrorOffset(text, message);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const reason = message.replace(/ in JSON at position \d+.*$/, '').replace(/, (\.\.\.)?"[\s\S]*is not valid JSON$/, '');
    throw new ConfigError([`file ${file}, line ${line}, column ${column}: not valid JSON: ${reason}`]);
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw new ConfigError([`file ${file}: must hold a JSON object such as {"receive": {"aeTitle": "BRAINSTRIP"}}, not ${JSON.stringify(content)}`]);
  }
  return content as Record<string, unknown>;
}

/** A value as a message shows it: JSON, cut short, or masked for a secret. */
function shown(key: string, value: unknown): string {
  const leaf = schemaLeaves().find(([k]) => k === key)?.[1];
  if (isSecret(key, leaf)) return MASK;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

/** `key = value (source): problem`, the form of every message about a value. */
export function problemWith(key: string, value: unknown, problem: string, p: Provenance): string {
  const leaf = schemaLeaves().find(([k]) => k === key)?.[1];
  return `${key} = ${shown(key, value)} (${describeSource(sourceOf(key, leaf, value, p))}): ${problem}`;
}

/** The keys a section of the schema has, for the message about a key it does not have. */
function keysOf(section: string): string[] {
  const definition = section ? at(DEFINITIONS, section).value : DEFINITIONS;
  return typeof definition === 'object' && definition !== null && !isLeaf(definition) ? Object.keys(definition) : [];
}

/**
 * convict's report (one line per problem: `key: what is allowed: value was …`, or a key the schema does not
 * declare, or one whose parent was replaced by a value) as messages that also name the source of each value.
 */
export function describeConvictReport(report: string, values: Record<string, unknown>, p: Provenance): string[] {
  const leafKeys = schemaLeaves()
    .map(([key]) => key)
    .sort((a, b) => b.length - a.length);
  const problems = new Set<string>();
  /** A section or leaf given a value of the wrong shape: the highest key on the way whose value is not an object, or the leaf itself. */
  const replaced = (key: string): string => {
    const parts = key.split('.');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('.');
      const { found, value } = at(values, prefix);
      if (found && (typeof value !== 'object' || value === null || Array.isArray(value) || i === parts.length)) {
        const leaf = at(DEFINITIONS, prefix).value;
        const single = isLeaf(leaf) && Array.isArray(leaf.default) ? 'a list' : 'a single value';
        const allowed = i === parts.length ? `must be ${single}, not an object` : `must be an object with the keys ${keysOf(prefix).join(', ')}`;
        return problemWith(prefix, value, allowed, p);
      }
    }
    return `${key}: missing`;
  };
  for (const line of report.split('\n')) {
    const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
    const missing = /^configuration param '(.+)' missing from config, did you override its parent\?$/.exec(line);
    if (missing) {
      problems.add(replaced(missing[1]));
    } else if (undeclared) {
      // The deepest part of the key the schema knows, and the first part beyond it.
      const parts = undeclared[1].split('.');
      let known = 0;
      while (known < parts.length && at(DEFINITIONS, parts.slice(0, known + 1).join('.')).found) known++;
      const parent = parts.slice(0, known).join('.');
      const key = parts.slice(0, known + 1).join('.');
      if (known === parts.length) problems.add(replaced(`${key}.${keysOf(key)[0]}`));
      else if (isLeaf(at(DEFINITIONS, parent).value)) problems.add(replaced(parent));
      else problems.add(problemWith(key, at(values, key).value, `not a configuration key; ${parent || 'the top level'} has ${keysOf(parent).join(', ')}`, p));
    } else {
      const key = leafKeys.find((k) => line.startsWith(`${k}: `));
      if (!key) {
        problems.add(line);
        continue;
      }
      const value = at(values, key).value;
      const message = line.slice(key.length + 2);
      const suffix = `: value was ${JSON.stringify(value)}`;
      problems.add(problemWith(key, value, message.endsWith(suffix) ? message.slice(0, -suffix.length) : message, p));
    }
  }
  return [...problems];
}
