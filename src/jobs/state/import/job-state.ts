// Moving a single node's job state (its SQLite job database) into a cluster's PostgreSQL database: the jobs with
// their ids (their work folders in the data folder are named by them), their events, the instances received and
// the series' destinations, in one transaction. A database that holds jobs already is refused unless the caller
// allows it, and then only when no job id collides; importing the same node twice changes nothing the second time.
import { type Db, openJobDatabase } from '../sqlite/schema.js';
import { PG_JOB_SCHEMA, type Sql, connect, displayUrl, migratePgSchema } from '../postgres/schema.js';

export interface JobStateImport {
  /** The cluster database, its password masked. */
  database: string;
  /** Jobs moved, by state (empty when nothing was moved). */
  jobs: Record<string, number>;
  events: number;
  instances: number;
  seriesDestinations: number;
  /** Every job of the node was in the cluster database already, as it is in the node's: nothing was moved. */
  alreadyImported: boolean;
}

/** Refused before anything was written: the message says why and what to do. */
export class ImportRefused extends Error {
  override name = 'ImportRefused';
}

type Row = Record<string, unknown>;

/** At most this many values in one INSERT (PostgreSQL takes 65535 parameters). */
const MAX_PARAMETERS = 30_000;

/** Inserts `rows` (each with `columns`) into `table`, a few thousand per statement. */
async function insertRows(tx: Sql, table: string, columns: string[], rows: Row[], suffix = ''): Promise<number> {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  let inserted = 0;
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const values = chunk.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
    const args = chunk.flatMap((row) => columns.map((c) => row[c] ?? null));
    inserted += await tx.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(', ')} ${suffix}`, args);
  }
  return inserted;
}

async function columnsOf(tx: Sql, table: string): Promise<Set<string>> {
  const rows = await tx.rows<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [table]);
  return new Set(rows.map((r) => r.column_name));
}

/** The node's jobs are all in the cluster database, each with its series and creation time: imported before. */
async function importedBefore(tx: Sql, jobs: Row[]): Promise<boolean> {
  if (jobs.length === 0) return false;
  const found = await tx.row<{ n: number }>(
    'SELECT count(*) AS n FROM jobs j JOIN unnest($1::bigint[], $2::text[], $3::text[]) AS s (id, series, created) ON j.id = s.id AND j.series_instance_uid = s.series AND j.created_at = s.created',
    [jobs.map((j) => j.id), jobs.map((j) => j.series_instance_uid), jobs.map((j) => j.created_at)],
  );
  return found?.n === jobs.length;
}

async function copyJobs(tx: Sql, node: Db, jobs: Row[]): Promise<Omit<JobStateImport, 'database' | 'alreadyImported'>> {
  const ids = jobs.map((j) => Number(j.id));
  // The cluster's own columns (a node's owner, say) keep their defaults: an imported job belongs to no node yet.
  const clusterColumns = await columnsOf(tx, 'jobs');
  const columns = Object.keys(jobs[0] ?? {}).filter((c) => clusterColumns.has(c));
  await insertRows(tx, 'jobs', columns, jobs);
  // The insert wrote each job's creation as an event; the node's own timeline replaces it.
  await tx.run('DELETE FROM job_events WHERE job_id = ANY($1::bigint[])', [ids]);
  const events = node.prepare('SELECT job_id, at, state, stage, detail, reason FROM job_events WHERE job_id IN (SELECT id FROM jobs) ORDER BY id').all() as Row[];
  const eventCount = await insertRows(tx, 'job_events', ['job_id', 'at', 'state', 'stage', 'detail', 'reason'], events);
  // New jobs of the cluster are numbered after the imported ones.
  await tx.run("SELECT setval(pg_get_serial_sequence('jobs', 'id'), (SELECT max(id) FROM jobs))");
  const instances = node.prepare('SELECT series_instance_uid, sop_instance_uid, bytes, received_at FROM instances').all() as Row[];
  const instanceCount = await insertRows(tx, 'instances', ['series_instance_uid', 'sop_instance_uid', 'bytes', 'received_at'], instances, 'ON CONFLICT DO NOTHING');
  const destinations = node.prepare('SELECT series_instance_uid, destination FROM series_destination').all() as Row[];
  const destinationCount = await insertRows(tx, 'series_destination', ['series_instance_uid', 'destination'], destinations, 'ON CONFLICT DO NOTHING');
  const byState: Record<string, number> = {};
  for (const job of jobs) byState[String(job.state)] = (byState[String(job.state)] ?? 0) + 1;
  return { jobs: byState, events: eventCount, instances: instanceCount, seriesDestinations: destinationCount };
}

/**
 * Copies the job database in `sqliteFile` (brought up to this release's schema first, as the node would at its
 * start) into the cluster database at `url` (likewise). The node must be stopped.
 */
export async function importJobState(sqliteFile: string, url: string, options: { intoNonEmpty?: boolean } = {}): Promise<JobStateImport> {
  const node = openJobDatabase(sqliteFile);
  const database = displayUrl(url);
  const db = connect(url, 1);
  try {
    await migratePgSchema(db, `the cluster database ${database}`, PG_JOB_SCHEMA);
    const jobs = node.prepare('SELECT * FROM jobs ORDER BY id').all() as Row[];
    return await db.transaction(async (tx) => {
      // One import at a time, and no node may create a job meanwhile under an id being imported.
      await tx.run('LOCK TABLE jobs IN EXCLUSIVE MODE');
      if (await importedBefore(tx, jobs)) return { database, jobs: {}, events: 0, instances: 0, seriesDestinations: 0, alreadyImported: true };
      const held = (await tx.row<{ n: number }>('SELECT count(*) AS n FROM jobs'))!.n;
      if (held > 0 && !options.intoNonEmpty) {
        throw new ImportRefused(`the cluster database ${database} holds ${held} job(s) already; import a node into a new cluster database, or allow it explicitly`);
      }
      const taken = await tx.rows<{ id: number }>('SELECT id FROM jobs WHERE id = ANY($1::bigint[]) ORDER BY id LIMIT 10', [jobs.map((j) => j.id)]);
      if (taken.length > 0) {
        throw new ImportRefused(`job id(s) ${taken.map((t) => t.id).join(', ')} exist in the cluster database already; an import keeps job ids (their work folders are named by them)`);
      }
      return { database, ...(await copyJobs(tx, node, jobs)), alreadyImported: false };
    });
  } finally {
    node.close();
    await db.end();
  }
}
