// What a node keeps besides its jobs and shares with the other nodes of a cluster: the delivery ledger, the
// operations page's users, sessions and audit log (and the pause switches). A single node keeps them in its data folder; with
// cluster.database they are in PostgreSQL, in the job database's schema, on a small pool of their own.
import type { BrainstripConfig } from '../../config/schema.js';
import { dataFolder } from '../data-folder.js';
import type { AccountRecords } from '../ops/account-records.js';
import { SqliteAccountRecords } from '../ops/accounts-sqlite.js';
import { type DeliveryLedger, StoredLedger } from '../scu/ledger.js';

export interface SharedState {
  /** Where it is kept, in words for the log. */
  where: string;
  ledger: DeliveryLedger;
  /** Users, sessions and the audit log (new Accounts(accounts)). */
  accounts: AccountRecords;
  close(): Promise<void>;
}

export async function openSharedState(config: BrainstripConfig): Promise<SharedState> {
  const folder = dataFolder(config);
  if (!config.cluster.database) {
    const accounts = new SqliteAccountRecords(folder.opsDatabase);
    return { where: 'the data folder', ledger: new StoredLedger(folder.storedLedger), accounts, close: () => accounts.close() };
  }
  const { PG_JOB_SCHEMA, connect, displayUrl, migratePgSchema } = await import('../jobs/state/postgres/schema.js');
  const { PostgresLedger } = await import('../jobs/state/postgres/ledger.js');
  const { PostgresAccountRecords } = await import('../ops/accounts-postgres.js');
  const db = connect(config.cluster.database, 3);
  const where = `the cluster database ${displayUrl(config.cluster.database)}`;
  try {
    await migratePgSchema(db, where, PG_JOB_SCHEMA);
  } catch (err) {
    await db.end();
    throw err;
  }
  return { where, ledger: new PostgresLedger(db), accounts: new PostgresAccountRecords(db), close: () => db.end() };
}
