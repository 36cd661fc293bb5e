// The end-to-end set-up: the peers of bench/harness (Orthanc as the archive, `brainstrip serve`, storescu), and
// what a test needs before it can use them.
import fs from 'node:fs';
import path from 'node:path';
import { hasTool, repoRoot } from './derived-fixtures.js';
import { cliPath, orthancBinary } from '../bench/harness/peers.js';

export { type Node, type Orthanc, cliPath, createOrthanc, orthancBinary, startNode, storescu, waitFor, waitForJob } from '../bench/harness/peers.js';

export function e2eRequirements(): string | undefined {
  if (!fs.existsSync(orthancBinary)) return `${orthancBinary} not installed (Debian package orthanc)`;
  if (!hasTool('storescu')) return 'DCMTK storescu not installed';
  if (!fs.existsSync(cliPath)) return `${cliPath} not built (run npm run build, or npm test)`;
  const models = path.join(repoRoot, 'models');
  if (!fs.existsSync(path.join(models, 'checksums.json')) || !fs.readdirSync(models).some((f) => f.endsWith('.onnx'))) {
    return 'no ONNX model in models/ (checksums.json and a .onnx file)';
  }
  return undefined;
}
