// Where each effective configuration value came from (default, file, environment), for the operations page.
// Reads the same definitions and the same environment as the schema; nothing is re-validated here.
import fs from 'node:fs';
import { nodeSection } from './sections/node.js';
import { sectionsByArea } from './sections/index.js';

export interface ConfigValue {
  key: string;
  value: unknown;
  source: 'default' | 'file' | 'environment' | 'set by the program';
  /** The environment variable that sets it. */
  env?: string;
  doc: string;
  secret: boolean;
}

interface Leaf {
  doc: string;
  default: unknown;
  env?: string;
  sensitive?: boolean;
}

const isLeaf = (v: unknown): v is Leaf => typeof v === 'object' && v !== null && 'default' in v && 'doc' in v;
const SECRET_NAME = /password|secret|token|privatekey|apikey/i;

function at(object: unknown, key: string): { found: boolean; value?: unknown } {
  let current = object;
  for (const part of key.split('.')) {
    if (typeof current !== 'object' || current === null || !(part in current)) return { found: false };
    current = (current as Record<string, unknown>)[part];
  }
  return { found: true, value: current };
}

/** Every leaf of the schema with its effective value (from `config`) and its source; secrets masked. */
export function configSources(config: Record<string, unknown>, file: string | undefined, env: NodeJS.ProcessEnv = process.env): ConfigValue[] {
  let fromFile: unknown = {};
  if (file) {
    try {
      fromFile = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      fromFile = {};
    }
  }
  const out: ConfigValue[] = [];
  const walk = (definitions: Record<string, unknown>, prefix: string) => {
    for (const [name, definition] of Object.entries(definitions)) {
      const key = prefix ? `${prefix}.${name}` : name;
      if (!isLeaf(definition)) {
        if (typeof definition === 'object' && definition !== null) walk(definition as Record<string, unknown>, key);
        continue;
      }
      const value = at(config, key).value;
      let source: ConfigValue['source'] = 'default';
      if (definition.env && env[definition.env] !== undefined) source = 'environment';
      else if (at(fromFile, key).found) source = 'file';
      else if (JSON.stringify(value) !== JSON.stringify(definition.default)) source = 'set by the program';
      const secret = !!definition.sensitive || SECRET_NAME.test(name);
      out.push({ key, value: secret && value !== '' ? '••••••••' : value, source, env: definition.env, doc: definition.doc, secret });
    }
  };
  walk({ ...nodeSection, ...sectionsByArea } as Record<string, unknown>, '');
  return out;
}

/** The configuration file loadConfig reads: the one given, else BRAINSTRIP_CONFIG. */
export function configFilePath(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return file ?? env.BRAINSTRIP_CONFIG;
}
