// The end-to-end set-up: the peers of bench/harness (Orthanc as the archive, `brainstrip serve`, storescu), and
// what a test needs before it can use them.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './derived-fixtures.js';
import { requirementMissing, toolsMissing } from './tools.js';
import { cliPath, orthancBinary } from '../bench/harness/peers.js';

export { type Node, type Orthanc, cliPath, createOrthanc, orthancBinary, startNode, storescu, waitFor, waitForJob } from '../bench/harness/peers.js';

/** Why the end-to-end set-up cannot run, or undefined; throws under CI=true, where everything is installed. */
export function e2eRequirements(): string | undefined {
  const tools = toolsMissing('the end-to-end tests', orthancBinary, 'storescu');
  if (tools) return tools;
  if (!fs.existsSync(cliPath)) return requirementMissing('the end-to-end tests', `${cliPath} not built (run npm run build, or npm test)`);
  const models = path.join(repoRoot, 'models');
  if (!fs.existsSync(path.join(models, 'checksums.json')) || !fs.readdirSync(models).some((f) => f.endsWith('.onnx'))) {
    return requirementMissing('the end-to-end tests', 'no ONNX model in models/ (checksums.json and a .onnx file)');
  }
  return undefined;
}
