// What a node keeps besides its jobs and shares with the other nodes of a cluster: the delivery ledger, the
// operations page's users, sessions and audit log, and the operators' pause switches. A single node keeps them in its data folder; with
// cluster.database they are in PostgreSQL, in the job database's schema, on a small pool of their own.
import type { BrainstripConfig } from '../../config/schema.js';
import { dataFolder } from '../data-folder.js';
import { NodeControls } from '../jobs/controls.js';
import type { AccountRecords } from '../ops/account-records.js';
import { SqliteAccountRecords } from '../ops/accounts-sqlite.js';
import { type DeliveryLedger, StoredLedger } from '../scu/ledger.js';

export interface SharedState {
  /** Where it is kept, in words for the log. */
  where: string;
  ledger: DeliveryLedger;
  /** Users, sessions and the audit log (new Accounts(accounts)). */
  accounts: AccountRecords;
  /** The pause switches as they apply to this node. */
  controls: NodeControls;
  close(): Promise<void>;
}

/** How often a cluster node reads the pause switches again: a pause on any node holds everywhere within it. */
const PAUSE_POLL_MS = 1000;

export async function openSharedState(config: BrainstripConfig): Promise<SharedState> {
  const folder = dataFolder(config);
  if (!config.cluster.database) {
    const accounts = new SqliteAccountRecords(folder.opsDatabase);
    const controls = new NodeControls(folder.pauses);
    return { where: 'the data folder', ledger: new StoredLedger(folder.storedLedger), accounts, controls, close: () => accounts.close() };
  }
  const { PG_JOB_SCHEMA, connect, displayUrl, migratePgSchema } = await import('../jobs/state/postgres/schema.js');
  const { PostgresLedger } = await import('../jobs/state/postgres/ledger.js');
  const { PostgresAccountRecords } = await import('../ops/accounts-postgres.js');
  const { PostgresPauses } = await import('../jobs/state/postgres/pauses.js');
  const db = connect(config.cluster.database, 3);
  const where = `the cluster database ${displayUrl(config.cluster.database)}`;
  try {
    await migratePgSchema(db, where, PG_JOB_SCHEMA);
  } catch (err) {
    await db.end();
    throw err;
  }
  const controls = new NodeControls(new PostgresPauses(db), { node: config.cluster.nodeName, pollMs: PAUSE_POLL_MS });
  await controls.refresh();
  const close = async () => {
    controls.close();
    await db.end();
  };
  return { where, ledger: new PostgresLedger(db), accounts: new PostgresAccountRecords(db), controls, close };
}
