// What a node keeps besides its jobs and shares with the other nodes of a cluster: the delivery ledger (and, with
// it, the pause switches and the operations page's accounts). A single node keeps them in its data folder; with
// cluster.database they are in PostgreSQL, in the job database's schema, on a small pool of their own.
import type { BrainstripConfig } from '../../config/schema.js';
import { dataFolder } from '../data-folder.js';
import { type DeliveryLedger, StoredLedger } from '../scu/ledger.js';

export interface SharedState {
  /** Where it is kept, in words for the log. */
  where: string;
  ledger: DeliveryLedger;
  close(): Promise<void>;
}

export async function openSharedState(config: BrainstripConfig): Promise<SharedState> {
  const folder = dataFolder(config);
  if (!config.cluster.database) {
    return { where: 'the data folder', ledger: new StoredLedger(folder.storedLedger), close: async () => undefined };
  }
  const { PG_JOB_SCHEMA, connect, displayUrl, migratePgSchema } = await import('../jobs/state/postgres/schema.js');
  const { PostgresLedger } = await import('../jobs/state/postgres/ledger.js');
  const db = connect(config.cluster.database, 3);
  const where = `the cluster database ${displayUrl(config.cluster.database)}`;
  try {
    await migratePgSchema(db, where, PG_JOB_SCHEMA);
  } catch (err) {
    await db.end();
    throw err;
  }
  return { where, ledger: new PostgresLedger(db), close: () => db.end() };
}
