// The shared test data (../shared/data beside the clone: real scanner series, open-ms heads, label maps). It is
// not part of a fresh clone, so a developer's run skips what needs it, saying so; CI (CI=true) runs with it, and
// there a missing folder is an error rather than a quiet skip.
import fs from 'node:fs';
import path from 'node:path';

export const sharedData = path.resolve(import.meta.dirname, '..', '..', 'shared', 'data');

/** Why `what` cannot run (a missing path), or undefined when every path exists; throws under CI=true. */
export function sharedDataMissing(what: string, ...paths: string[]): string | undefined {
  const absent = paths.filter((p) => !fs.existsSync(p));
  if (absent.length === 0) return undefined;
  const message = `${absent.join(', ')} not found (../shared/data is not part of a fresh clone)`;
  if (process.env.CI === 'true') throw new Error(`${what} needs ${message}; CI runs with ../shared beside the clone`);
  return message;
}

/** True when every path exists; otherwise warns that `what` is skipped (and throws under CI=true). */
export function sharedDataPresent(what: string, ...paths: string[]): boolean {
  const missing = sharedDataMissing(what, ...paths);
  if (missing) console.warn(`skipping ${what}: ${missing}`);
  return missing === undefined;
}
