// Each area adds its section here. Keep one import and one key per area.
import { resultsSection, tlsSection } from './results.js';
export const sectionsByArea = {
  results: resultsSection,
  tls: tlsSection,
};
