import convict from 'convict';
import { nodeSection } from './sections/node.js';
import { sectionsByArea } from './sections/index.js';
import type { ModelConfig } from './sections/model.js';
import type { PipelineConfig } from './sections/pipeline.js';
import type { Destination } from './sections/results.js';

// One schema for the whole node. Each area (scp, pipeline, model, pool, scu, …) owns a section file in
// config/sections/ so that defaults and documentation live next to each other.
export function buildSchema() {
  return convict({ ...nodeSection, ...sectionsByArea });
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
  return schema.getProperties() as BrainstripConfig;
}
