import fs from 'node:fs';
import convict from 'convict';
import { CALLING_AE } from './formats.js';
import type { ModelConfig } from './sections/model.js';
import type { PipelineConfig } from './sections/pipeline.js';
import type { Destination } from './sections/results.js';
import { at, ConfigError, configFilePath, configSources, DEFINITIONS, describeConvictReport, isLeaf, problemWith, readConfigFile, type ConfigValue, type Provenance } from './sources.js';

export { ConfigError } from './sources.js';

// One schema for the whole node. Each area (scp, pipeline, model, pool, scu, …) owns a section file in
// config/sections/ so that defaults and documentation live next to each other; every value format is in
// config/formats.ts.
export function buildSchema(env: NodeJS.ProcessEnv = process.env) {
  return convict(DEFINITIONS, { env, args: [] });
}

/** What convict infers from the schema: enumerations as plain strings, custom formats as `any`. */
type InferredConfig = ReturnType<ReturnType<typeof buildSchema>['getProperties']>;

/**
 * The configuration as the code uses it: the inferred shape with the sections whose formats convict cannot type
 * (enumerations, the destination list) replaced by their declared interfaces. loadConfig's validation
 * guarantees the values, so this is the one place that states those types.
 */
export type BrainstripConfig = Omit<InferredConfig, 'model' | 'pipeline' | 'results'> & {
  model: ModelConfig;
  pipeline: PipelineConfig;
  results: Omit<InferredConfig['results'], 'destinations'> & { destinations: Destination[] };
};

export interface LoadOptions {
  /** Path of a JSON file whose values override the defaults. */
  file?: string;
  /** Values that override the file (used by tests and CLI flags). */
  overrides?: Record<string, unknown>;
  /** The environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Problems that no single key's format can see: values that are only wrong together. */
const CROSS_KEY_RULES: Array<{ key: string; problem(config: BrainstripConfig): string | undefined }> = [
  { key: 'tls.certificate', problem: (c) => (c.tls.scpEnabled && !c.tls.certificate ? 'must be set when tls.scpEnabled is true (the SCP presents it to senders)' : undefined) },
  { key: 'tls.privateKey', problem: (c) => (c.tls.scpEnabled && !c.tls.privateKey ? 'must be set when tls.scpEnabled is true' : undefined) },
  { key: 'tls.privateKey', problem: (c) => (!c.tls.certificate !== !c.tls.privateKey ? 'tls.certificate and tls.privateKey go together: set both or neither' : undefined) },
  {
    key: 'receive.routing.include',
    problem: (c) => {
      const known = new Set(c.results.destinations.map((d) => d.aeTitle.trim()));
      for (const rule of c.receive.routing.include) {
        for (const name of rule.destinations ?? []) {
          if (name === CALLING_AE && c.results.knownAes.length === 0) return `a rule sends to "${CALLING_AE}" but results.knownAes is empty: list the AEs results may go back to`;
          if (name !== CALLING_AE && !known.has(name.trim())) return `a rule sends to "${name}", which is not the AE title of one of results.destinations`;
        }
      }
      return undefined;
    },
  },
  { key: 'tls.requireClientCert', problem: (c) => (c.tls.requireClientCert && !c.tls.scpEnabled ? 'needs tls.scpEnabled: without TLS there is no client certificate to require' : undefined) },
  ...(['certificate', 'privateKey', 'ca'] as const).map((name) => ({
    key: `tls.${name}`,
    problem: (c: BrainstripConfig) => {
      const file = c.tls[name];
      if (!file) return undefined;
      try {
        fs.accessSync(file, fs.constants.R_OK);
        return undefined;
      } catch (error) {
        return `must be a readable PEM file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
      }
    },
  })),
  {
    key: 'registration.samples',
    problem: (c) =>
      c.registration.samples.length !== c.registration.levelsMm.length ? `must give one count per level of registration.levelsMm (${c.registration.levelsMm.length})` : undefined,
  },
  {
    key: 'results.retry.maxDelayMs',
    problem: (c) => (c.results.retry.maxDelayMs < c.results.retry.initialDelayMs ? 'must be at least results.retry.initialDelayMs' : undefined),
  },
  {
    key: 'cluster.leaseSeconds',
    // A live node missing one heartbeat (a slow query, a pause) must not be taken for dead.
    problem: (c) => (c.cluster.leaseSeconds < 2 * c.cluster.heartbeatSeconds ? 'must be at least twice cluster.heartbeatSeconds' : undefined),
  },
];

/**
 * Sets every value of `values` on the schema: sections key by key, anything else (a leaf, a key the schema does not
 * have, a section given a value that is not an object) as it is, for validation to judge. convict's own `load`
 * merges an object into a list or a single value and so lets `"allowedCallers": {"a": 1}` pass as a list; and the
 * environment, which `load` applies over everything, is applied again at the end.
 */
function layOver(schema: ReturnType<typeof buildSchema>, values: Record<string, unknown>, prefix = ''): void {
  for (const [name, value] of Object.entries(values)) {
    const key = prefix ? `${prefix}.${name}` : name;
    const definition = at(DEFINITIONS, key);
    const isSection = definition.found && !isLeaf(definition.value);
    if (isSection && typeof value === 'object' && value !== null && !Array.isArray(value)) layOver(schema, value as Record<string, unknown>, key);
    else schema.set(key, value);
  }
  if (!prefix) schema.load({});
}

/**
 * Loads and validates the configuration: defaults < JSON file (--config or BRAINSTRIP_CONFIG) < overrides <
 * environment variables. Throws a ConfigError with one message per problem; returns the configuration and every
 * value with its source (secrets masked).
 */
export function checkConfig(options: LoadOptions = {}): { config: BrainstripConfig; file?: string; values: ConfigValue[] } {
  const env = options.env ?? process.env;
  const file = configFilePath(options.file, env) || undefined;
  const fromFile = file ? readConfigFile(file) : {};
  const provenance: Provenance = { file, fromFile, env, overrides: options.overrides ?? {} };
  const schema = buildSchema(env);
  layOver(schema, fromFile);
  if (options.overrides) layOver(schema, options.overrides);
  try {
    schema.validate({ allowed: 'strict' });
  } catch (error) {
    throw new ConfigError(describeConvictReport((error as Error).message, schema.getProperties() as Record<string, unknown>, provenance));
  }
  const config = schema.getProperties() as BrainstripConfig;
  const values = config as unknown as Record<string, unknown>;
  const problems = CROSS_KEY_RULES.flatMap(({ key, problem }) => {
    const text = problem(config);
    return text ? [problemWith(key, at(values, key).value, text, provenance)] : [];
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return { config, file, values: configSources(values, provenance) };
}

/** The validated configuration (see checkConfig); a ConfigError when it is not valid. */
export function loadConfig(options: LoadOptions = {}): BrainstripConfig {
  return checkConfig(options).config;
}
