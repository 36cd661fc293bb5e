import convict from 'convict';
import { nodeSection } from './sections/node.js';
import { sectionsByArea } from './sections/index.js';

// One schema for the whole node. Each area (scp, pipeline, model, pool, scu, …) owns a section file in
// config/sections/ so that defaults and documentation live next to each other.
export function buildSchema() {
  return convict({ ...nodeSection, ...sectionsByArea });
}

export type BrainstripConfig = ReturnType<ReturnType<typeof buildSchema>['getProperties']>;

export interface LoadOptions {
  /** Path of a JSON file whose values override the defaults. */
  file?: string;
  /** Values that override everything else (used by tests and CLI flags). */
  overrides?: Record<string, unknown>;
}

/** Defaults < JSON file (--config or BRAINSTRIP_CONFIG) < environment variables < explicit overrides. */
export function loadConfig(options: LoadOptions = {}): BrainstripConfig {
  const schema = buildSchema();
  const file = options.file ?? process.env.BRAINSTRIP_CONFIG;
  if (file) schema.loadFile(file);
  if (options.overrides) schema.load(options.overrides);
  schema.validate({ allowed: 'strict' });
  return schema.getProperties();
}
