// What `brainstrip cluster import` moves of a single node besides its jobs: what each archive confirmed (so that
// the cluster never sends it again), the operations page's users with their password hashes, and the audit log.
// Importing again adds nothing. Sessions are not moved (users log in again); neither are pauses: a node's pause
// would become the whole cluster's, so they are named for the operator to set again on the Nodes page.
import fs from 'node:fs';
import type { DataFolder } from '../data-folder.js';
import { PauseFile } from '../jobs/controls.js';
import { PostgresLedger } from '../jobs/state/postgres/ledger.js';
import { PG_JOB_SCHEMA, connect, displayUrl, migratePgSchema } from '../jobs/state/postgres/schema.js';
import { PostgresAccountRecords } from '../ops/accounts-postgres.js';
import { SqliteAccountRecords } from '../ops/accounts-sqlite.js';
import { StoredLedger } from '../scu/ledger.js';

export interface SharedStateImport {
  /** Confirmed stores added to the cluster's ledger. */
  confirmations: number;
  users: number;
  auditEntries: number;
  /** The node's pauses, not moved: intake, processing or sending. */
  pausesNotMoved: string[];
}

export async function importSharedState(node: DataFolder, url: string): Promise<SharedStateImport> {
  const db = connect(url, 2);
  try {
    await migratePgSchema(db, `the cluster database ${displayUrl(url)}`, PG_JOB_SCHEMA);
    const confirmations = await new PostgresLedger(db).importRecords(new StoredLedger(node.storedLedger).all());
    let moved = { users: 0, audit: 0 };
    if (fs.existsSync(node.opsDatabase)) {
      const local = new SqliteAccountRecords(node.opsDatabase);
      try {
        moved = await new PostgresAccountRecords(db).importAll(local.exportAll());
      } finally {
        await local.close();
      }
    }
    const pausesNotMoved = new PauseFile(node.pauses).readSync().map((p) => p.what);
    return { confirmations, users: moved.users, auditEntries: moved.audit, pausesNotMoved };
  } finally {
    await db.end();
  }
}
