// Each area adds its section here. Keep one import and one key per area.
import { resultsSection, tlsSection } from './results.js';
import { pipelineSection } from './pipeline.js';
export const sectionsByArea = {
  pipeline: pipelineSection,
  results: resultsSection,
  tls: tlsSection,
};
