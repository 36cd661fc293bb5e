// brainstrip's version, written into every derived object (Software Versions).
import fs from 'node:fs';
import path from 'node:path';

let cachedVersion: string | undefined;
/** brainstrip's version from package.json (found from src/ and from dist/src/ alike). */
export function brainstripVersion(): string {
  if (cachedVersion) return cachedVersion;
  let dir = path.dirname(new URL(import.meta.url).pathname);
  for (let up = 0; up < 6; up++, dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'brainstrip' && pkg.version) return (cachedVersion = pkg.version);
    }
  }
  return (cachedVersion = 'unknown');
}
