// Versioned schemas of the node's SQLite databases: numbered steps applied in order, each in one transaction with
// the new version (PRAGMA user_version), so that a database always says which schema it has and an upgrade either
// happened whole or not at all. A database written by a newer brainstrip is refused rather than guessed at.
import type Database from 'better-sqlite3';

export interface SchemaStep {
  /** 1, 2, 3, … without gaps; never renumbered once released. */
  version: number;
  description: string;
  up(db: Database.Database): void;
}

export class SchemaTooNewError extends Error {}

/** Steps are numbered 1, 2, 3, … in order (a store on another database numbers its own steps the same way). */
export function checkStepNumbers(name: string, steps: readonly { version: number }[]): void {
  steps.forEach((step, n) => {
    if (step.version !== n + 1) throw new Error(`${name}: schema step ${n + 1} is numbered ${step.version}`);
  });
}

/** The refusal of a database whose schema version `from` is newer than the `latest` this release knows. */
export function schemaTooNew(name: string, from: number, latest: number): SchemaTooNewError {
  return new SchemaTooNewError(
    `${name} has schema version ${from}, newer than this brainstrip knows (${latest}): it was written by a newer release. ` +
      'Run that release (or newer), or restore a backup taken before the upgrade.',
  );
}

/** Brings `db` to the last step's version; returns the versions before and after. */
export function migrateSchema(db: Database.Database, name: string, steps: readonly SchemaStep[]): { from: number; to: number } {
  checkStepNumbers(name, steps);
  const latest = steps.length;
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > latest) throw schemaTooNew(name, from, latest);
  for (const step of steps.slice(from)) {
    db.transaction(() => {
      step.up(db);
      db.pragma(`user_version = ${step.version}`);
    })();
  }
  return { from, to: latest };
}
