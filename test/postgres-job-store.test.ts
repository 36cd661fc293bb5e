// What only the PostgreSQL job store has to do: a schema versioned like SQLite's, migrated once when several nodes
// open the database at the same time, a database of a newer release refused; and a server restart costs the queries
// made while it is away, not the node.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresJobStore } from '../src/jobs/state/postgres/store.js';
import { PG_JOB_SCHEMA } from '../src/jobs/state/postgres/schema.js';
import { SchemaTooNewError } from '../src/sqlite-schema.js';
import { configureLogging } from '../src/log.js';
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres-fixture.js';

configureLogging({ level: 'error', stream: 'stderr' });
const missing = postgresMissing('the PostgreSQL job store tests');
if (missing) console.warn(`skipping the PostgreSQL job store tests: ${missing}`);

async function query<R>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as R[];
  } finally {
    await client.end();
  }
}

describe.skipIf(missing !== undefined)('the PostgreSQL job store', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.stop());

  test('nodes opening one database at the same time migrate it once; a database of a newer release is refused', async () => {
    const url = await cluster.createDatabase('schema');
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresJobStore.open(url)));
    await Promise.all(stores.map((s) => s.close()));
    expect(await query(url, 'SELECT version FROM schema_version')).toEqual([{ version: PG_JOB_SCHEMA.length }]);
    await query(url, `UPDATE schema_version SET version = ${PG_JOB_SCHEMA.length + 1}`);
    const refused = PostgresJobStore.open(url.replace('postgres@', 'postgres:not-shown@'));
    await expect(refused).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(refused).rejects.toThrow(new RegExp(`has schema version ${PG_JOB_SCHEMA.length + 1}, newer than this brainstrip knows \\(${PG_JOB_SCHEMA.length}\\): it was written by a newer release`));
    await expect(refused).rejects.not.toThrow(/not-shown/);
  });

  test('a restart of the server fails the queries made while it is down; the store answers again once it is back', async () => {
    const store = await PostgresJobStore.open(await cluster.createDatabase('restart'));
    try {
      const { job } = await store.recordInstance({ studyInstanceUid: '1.2', seriesInstanceUid: '1.2.3', sopInstanceUid: '1.2.3.1', bytes: 1 });
      cluster.kill();
      await expect(store.get(job.id)).rejects.toThrow();
      await expect(store.probeWrite()).rejects.toThrow();
      cluster.restart();
      let answered: unknown;
      for (let n = 0; n < 50 && answered === undefined; n++) {
        answered = await store.get(job.id).catch(() => new Promise((r) => setTimeout(() => r(undefined), 100)));
      }
      expect(answered).toMatchObject({ id: job.id, state: 'receiving' });
      await store.probeWrite();
    } finally {
      await store.close();
    }
  });
});
