// The job stores the behavioural tests run against alike: SQLite (a file in a temp folder) and PostgreSQL (a fresh
// database in a throwaway cluster, started on first use and stopped after the test file). Without PostgreSQL its
// tests skip, saying so, and fail under CI=true.
import path from 'node:path';
import type { JobState } from '../src/jobs/state/job.js';
import { afterAll } from 'vitest';
import { PostgresJobStore } from '../src/jobs/state/postgres/store.js';
import { SqliteJobStore } from '../src/jobs/state/sqlite/store.js';
import type { JobStore } from '../src/jobs/state/store.js';
import type { TransitionName } from '../src/jobs/state/transitions.js';
import { tempDir } from './derived-fixtures.js';
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres-fixture.js';

/** Legal transitions that bring a new job (receiving) into each state. */
export const PATH_TO: Record<JobState, TransitionName[]> = {
  receiving: [],
  complete: ['complete'],
  queued: ['complete', 'enqueue'],
  processing: ['complete', 'enqueue', 'claim'],
  sending: ['complete', 'enqueue', 'claim', 'resultsReady'],
  done: ['complete', 'enqueue', 'claim', 'resultsReady', 'delivered'],
  failed: ['complete', 'enqueue', 'claim', 'fail'],
};

export interface StoreKind {
  kind: 'sqlite' | 'postgres';
  /** Why this store cannot be tested here (tests skip), or undefined. */
  missing: string | undefined;
  /** A new, empty store, known as `name`. */
  open(name: string): Promise<JobStore>;
  /** Another connection to the database of the store opened as `name` (another node on the same job state). */
  reopen(name: string): Promise<JobStore>;
}

/** Registers the cleanup of this test file; call once at the top of a file. */
export function jobStoreKinds(what: string): StoreKind[] {
  let cluster: Promise<PostgresCluster> | undefined;
  const urls = new Map<string, string>();
  const files = new Map<string, string>();
  afterAll(async () => {
    (await cluster?.catch(() => undefined))?.stop();
  });
  const missing = postgresMissing(`${what} on PostgreSQL`);
  if (missing) console.warn(`skipping ${what} on PostgreSQL: ${missing}`);
  let databases = 0;
  return [
    {
      kind: 'sqlite',
      missing: undefined,
      async open(name) {
        files.set(name, path.join(tempDir(`store-${name}`), 'jobs.sqlite'));
        return new SqliteJobStore(files.get(name)!);
      },
      async reopen(name) {
        return new SqliteJobStore(files.get(name)!);
      },
    },
    {
      kind: 'postgres',
      missing,
      async open(name) {
        cluster ??= startPostgres();
        urls.set(name, await (await cluster).createDatabase(`${name}_${++databases}`));
        return PostgresJobStore.open(urls.get(name)!);
      },
      async reopen(name) {
        return PostgresJobStore.open(urls.get(name)!);
      },
    },
  ];
}
