// The places a node keeps its shared state (delivery ledger, pause switches, accounts), for contract tests run
// against both alike: the data folder of a single node (a temp folder) and PostgreSQL (a fresh database in a
// throwaway cluster, started on first use and stopped after the test file). Without PostgreSQL its tests skip,
// saying so, and fail under CI=true.
import path from 'node:path';
import { afterAll } from 'vitest';
import { PauseFile, type PauseSwitches } from '../src/jobs/controls.js';
import { PostgresLedger } from '../src/jobs/state/postgres/ledger.js';
import { PostgresPauses } from '../src/jobs/state/postgres/pauses.js';
import { PG_JOB_SCHEMA, type PgDb, connect, migratePgSchema } from '../src/jobs/state/postgres/schema.js';
import { type DeliveryLedger, StoredLedger } from '../src/scu/ledger.js';
import type { AccountRecords } from '../src/ops/account-records.js';
import { PostgresAccountRecords } from '../src/ops/accounts-postgres.js';
import { SqliteAccountRecords } from '../src/ops/accounts-sqlite.js';
import { tempDir } from './derived-fixtures.js';
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres-fixture.js';

/** One place; every call of a getter is another handle on it (as another node or process would have). */
export interface StatePlace {
  ledger(): DeliveryLedger;
  accounts(): AccountRecords;
  pauses(): PauseSwitches;
  close(): Promise<void>;
}

export interface StateKind {
  kind: 'data folder' | 'postgres';
  /** Why this kind cannot be tested here (tests skip), or undefined. */
  missing: string | undefined;
  open(name: string): Promise<StatePlace>;
}

/** Registers the cleanup of this test file; call once at the top of a file. */
export function sharedStateKinds(what: string): StateKind[] {
  let cluster: Promise<PostgresCluster> | undefined;
  const pools: PgDb[] = [];
  afterAll(async () => {
    for (const db of pools) await db.end().catch(() => undefined);
    (await cluster?.catch(() => undefined))?.stop();
  });
  const missing = postgresMissing(`${what} on PostgreSQL`);
  if (missing) console.warn(`skipping ${what} on PostgreSQL: ${missing}`);
  let databases = 0;
  return [
    {
      kind: 'data folder',
      missing: undefined,
      async open(name) {
        const dir = tempDir(`state-${name}`);
        const opened: AccountRecords[] = [];
        return {
          ledger: () => new StoredLedger(path.join(dir, 'stored')),
          accounts: () => opened[opened.push(new SqliteAccountRecords(path.join(dir, 'ops.sqlite'))) - 1],
          pauses: () => new PauseFile(path.join(dir, 'paused.json')),
          close: async () => {
            for (const records of opened) await records.close();
          },
        };
      },
    },
    {
      kind: 'postgres',
      missing,
      async open(name) {
        cluster ??= startPostgres();
        const url = await (await cluster).createDatabase(`${name}_${++databases}`);
        const db = connect(url, 2);
        pools.push(db);
        await migratePgSchema(db, name, PG_JOB_SCHEMA);
        return { ledger: () => new PostgresLedger(db), accounts: () => new PostgresAccountRecords(db), pauses: () => new PostgresPauses(db), close: () => db.end() };
      },
    },
  ];
}
