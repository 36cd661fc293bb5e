// The throwaway PostgreSQL of the tests (bench/harness/postgres.ts), and what a test needs before it can use one.
import { postgresBin } from '../bench/harness/postgres.js';
import { requirementMissing } from './tools.js';

export { type PostgresCluster, startPostgres } from '../bench/harness/postgres.js';

/** Why `what` cannot run without PostgreSQL, or undefined; throws under CI=true (see tools.ts). */
export function postgresMissing(what: string): string | undefined {
  return requirementMissing(what, postgresBin() ? undefined : 'PostgreSQL (Debian package postgresql: /usr/lib/postgresql/<version>/bin/initdb) not installed');
}
