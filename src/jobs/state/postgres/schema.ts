// The PostgreSQL job store's connection and schema. Several nodes share one database, so the schema is brought up to
// date under an advisory lock (the first node to start migrates; the others wait and find it done), in one
// transaction with the version it reaches: PostgreSQL's DDL is transactional, an upgrade happens whole or not at all.
import pg from 'pg';
import { logger } from '../../../log.js';
import { checkStepNumbers, schemaTooNew } from '../../../sqlite-schema.js';
import { JOB_STATES } from '../job.js';
import { NODES_STEP } from './nodes-schema.js';
import { sharedStateStep } from './shared-state-schema.js';
import { EVENT_TIME, type PgSchemaStep } from './step.js';

export type { PgSchemaStep };

const INT8_OID = 20;

/** Queries on one connection (inside a transaction) or on the pool (a statement of its own). */
export class Sql {
  constructor(protected readonly client: pg.Pool | pg.PoolClient) {}

  async rows<R>(text: string, args: unknown[] = []): Promise<R[]> {
    return (await this.client.query(text, args)).rows as R[];
  }

  async row<R>(text: string, args: unknown[] = []): Promise<R | undefined> {
    return (await this.rows<R>(text, args))[0];
  }

  /** Runs a statement; the number of rows it changed. */
  async run(text: string, args: unknown[] = []): Promise<number> {
    return (await this.client.query(text, args)).rowCount ?? 0;
  }
}

export class PgDb extends Sql {
  constructor(private readonly pool: pg.Pool) {
    super(pool);
  }

  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // The server going away while the connection is checked out is reported as an error event too (the pool only
    // listens while it is idle): the query in flight rejects with it, which is what the caller sees.
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(new Sql(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (!lost) await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      // A broken connection is closed, not handed to the next query.
      client.release(lost);
    }
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}

/** The database URL as logs and messages show it: its password masked. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '••••';
    return u.toString();
  } catch {
    return 'an unreadable PostgreSQL URL';
  }
}

/**
 * Connects to the database at `url` (not yet querying it), as node `node` when given: each connection then carries
 * the name in the setting brainstrip.node, which the job event trigger records. bigint columns and counts are read
 * as numbers.
 */
export function connect(url: string, maxConnections = 8, node?: string): PgDb {
  const types = { getTypeParser: (oid: number, format?: string) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format as 'text')) };
  // A node name is letters, digits, dots, dashes and underscores (config/formats.ts): nothing to quote.
  const as = node ? { options: `-c brainstrip.node=${node}`, application_name: `brainstrip ${node}` } : {};
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, types: types as pg.CustomTypesConfig, ...as });
  // An idle connection that the server dropped (a restart) must not crash the node; the next query reconnects.
  pool.on('error', (err) => logger('jobs').warn(`PostgreSQL connection lost: ${err.message}`));
  return new PgDb(pool);
}

/** Brings the database to the last step's version; returns the versions before and after. */
export async function migratePgSchema(db: PgDb, name: string, steps: readonly PgSchemaStep[]): Promise<{ from: number; to: number }> {
  checkStepNumbers(name, steps);
  const latest = steps.length;
  return db.transaction(async (tx) => {
    await tx.run("SELECT pg_advisory_xact_lock(hashtext('brainstrip job schema'))");
    await tx.run('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
    const from = (await tx.row<{ version: number | null }>('SELECT max(version) AS version FROM schema_version'))?.version ?? 0;
    if (from > latest) throw schemaTooNew(name, from, latest);
    for (const step of steps.slice(from)) await tx.run(step.sql);
    await tx.run('DELETE FROM schema_version');
    await tx.run('INSERT INTO schema_version (version) VALUES ($1)', [latest]);
    return { from, to: latest };
  });
}

/** The job database's schema on PostgreSQL, step by step (its own numbering; released steps are never changed). */
export const PG_JOB_SCHEMA: readonly PgSchemaStep[] = [
  {
    version: 1,
    description: 'jobs with their stages and review flags, their instances and events, series destinations',
    sql: `
      CREATE TABLE jobs (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        study_instance_uid text NOT NULL,
        series_instance_uid text NOT NULL,
        calling_ae text,
        modality text,
        series_description text,
        sop_class_uid text,
        state text NOT NULL CHECK (state IN (${JOB_STATES.map((s) => `'${s}'`).join(', ')})),
        stage text,
        detail text,
        reason text,
        instances integer NOT NULL DEFAULT 0,
        bytes bigint NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 0,
        created_at text COLLATE "C" NOT NULL,
        updated_at text COLLATE "C" NOT NULL,
        last_instance_at text COLLATE "C",
        finished_at text COLLATE "C",
        patient_name text,
        patient_id text,
        accession_number text,
        study_description text,
        study_date text,
        series_number text,
        review text,
        held_for text,
        released_by text
      );
      CREATE INDEX jobs_by_series ON jobs (series_instance_uid, id);
      CREATE INDEX jobs_by_state ON jobs (state, id);
      CREATE INDEX jobs_flagged ON jobs (id) WHERE review IS NOT NULL;
      CREATE TABLE instances (
        series_instance_uid text NOT NULL,
        sop_instance_uid text NOT NULL,
        bytes bigint NOT NULL,
        received_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (series_instance_uid, sop_instance_uid)
      );
      CREATE TABLE job_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id bigint NOT NULL,
        at text COLLATE "C" NOT NULL,
        state text NOT NULL,
        stage text,
        detail text,
        reason text
      );
      CREATE INDEX job_events_by_job ON job_events (job_id, id);
      CREATE TABLE series_destination (series_instance_uid text PRIMARY KEY, destination text NOT NULL);
      CREATE TABLE write_probe (id integer PRIMARY KEY, at text NOT NULL);
      -- Every change of state, stage or detail is an event, written by the database itself so that no code path can
      -- skip it: the job's timeline and the time each stage took come from here.
      CREATE FUNCTION job_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO job_events (job_id, at, state, stage, detail, reason) VALUES (NEW.id, NEW.created_at, NEW.state, NEW.stage, NEW.detail, NEW.reason);
        ELSIF NEW.state IS DISTINCT FROM OLD.state OR NEW.stage IS DISTINCT FROM OLD.stage OR NEW.detail IS DISTINCT FROM OLD.detail THEN
          INSERT INTO job_events (job_id, at, state, stage, detail, reason) VALUES (NEW.id, ${EVENT_TIME}, NEW.state, NEW.stage, NEW.detail, NEW.reason);
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER job_event AFTER INSERT OR UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION job_event();
    `,
  },
  sharedStateStep(2),
  NODES_STEP,
];
