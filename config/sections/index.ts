// Each area adds its section here. Keep one import and one key per area.
import { resultsSection, tlsSection } from './results.js';
import { pipelineSection } from './pipeline.js';
import { receiveSection } from './receive.js';
import { httpSection } from './http.js';
import { jobsSection } from './jobs.js';
import { modelSection } from './model.js';
import { poolSection } from './pool.js';
import { registrationSection } from './registration.js';
import { opsSection } from './ops.js';
import { retentionSection } from './retention.js';
import { clusterSection } from './cluster.js';
export const sectionsByArea = {
  receive: receiveSection,
  http: httpSection,
  jobs: jobsSection,
  pipeline: pipelineSection,
  model: modelSection,
  pool: poolSection,
  registration: registrationSection,
  results: resultsSection,
  tls: tlsSection,
  ops: opsSection,
  retention: retentionSection,
  cluster: clusterSection,
};
