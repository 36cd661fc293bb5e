// The job database's schema, step by step (src/sqlite-schema.ts applies them). Step 1 is the schema of release
// 0.1.0, written so that it also adopts a 0.1.0 database, which carries no version yet; later steps change it.
import type { SchemaStep } from '../../../sqlite-schema.js';
import { JOB_STATES } from '../job.js';

export const JOB_SCHEMA: readonly SchemaStep[] = [
  {
    version: 1,
    description: 'jobs, their instances and events, series destinations (release 0.1.0)',
    up(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS jobs (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          study_instance_uid TEXT NOT NULL,
          series_instance_uid TEXT NOT NULL,
          calling_ae TEXT,
          modality TEXT,
          series_description TEXT,
          sop_class_uid TEXT,
          state TEXT NOT NULL CHECK (state IN (${JOB_STATES.map((s) => `'${s}'`).join(', ')})),
          detail TEXT,
          reason TEXT,
          instances INTEGER NOT NULL DEFAULT 0,
          bytes INTEGER NOT NULL DEFAULT 0,
          attempts INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          last_instance_at TEXT,
          finished_at TEXT
        );
        CREATE INDEX IF NOT EXISTS jobs_by_series ON jobs (series_instance_uid, id);
        CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, id);
        CREATE TABLE IF NOT EXISTS instances (
          series_instance_uid TEXT NOT NULL,
          sop_instance_uid TEXT NOT NULL,
          bytes INTEGER NOT NULL,
          received_at TEXT NOT NULL,
          PRIMARY KEY (series_instance_uid, sop_instance_uid)
        ) WITHOUT ROWID;
        -- Every change of state or detail, written by SQLite itself so that no code path can skip it: the job's
        -- timeline and the time each stage took come from here.
        CREATE TABLE IF NOT EXISTS job_events (
          id INTEGER PRIMARY KEY,
          job_id INTEGER NOT NULL,
          at TEXT NOT NULL,
          state TEXT NOT NULL,
          detail TEXT,
          reason TEXT
        );
        CREATE INDEX IF NOT EXISTS job_events_by_job ON job_events (job_id); -- entries of one job_id are kept in rowid order
        -- A series whose results go to one archive only (the self-test's chosen destination), keyed AE@host:port.
        CREATE TABLE IF NOT EXISTS series_destination (
          series_instance_uid TEXT PRIMARY KEY,
          destination TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TRIGGER IF NOT EXISTS job_created AFTER INSERT ON jobs BEGIN
          INSERT INTO job_events (job_id, at, state, detail, reason) VALUES (NEW.id, NEW.created_at, NEW.state, NEW.detail, NEW.reason);
        END;
        CREATE TRIGGER IF NOT EXISTS job_changed AFTER UPDATE OF state, detail ON jobs
          WHEN NEW.state IS NOT OLD.state OR NEW.detail IS NOT OLD.detail BEGIN
          INSERT INTO job_events (job_id, at, state, detail, reason)
            VALUES (NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.state, NEW.detail, NEW.reason);
        END;
      `);
      // Patient and study identification, filled from the first spooled instance (0.1.0 added them one by one).
      const columns = new Set((db.prepare('PRAGMA table_info(jobs)').all() as Array<{ name: string }>).map((c) => c.name));
      for (const column of ['patient_name', 'patient_id', 'accession_number', 'study_description', 'study_date', 'series_number']) {
        if (!columns.has(column)) db.exec(`ALTER TABLE jobs ADD COLUMN ${column} TEXT`);
      }
    },
  },
];
