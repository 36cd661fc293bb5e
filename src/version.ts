// Which brainstrip this is: the release in package.json and the Node.js it runs on, read once. Found by walking
// up from this module, so that the TypeScript sources (tests) and the built dist/ (the service) agree.
import fs from 'node:fs';
import path from 'node:path';

function readVersion(): string {
  let dir = path.dirname(new URL(import.meta.url).pathname);
  for (let up = 0; up < 5; up++, dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'brainstrip' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

/** brainstrip's semantic version (package.json). */
export const BRAINSTRIP_VERSION = readVersion();

/** The Node.js release the node runs on, without the leading v. */
export const NODE_VERSION = process.versions.node;
