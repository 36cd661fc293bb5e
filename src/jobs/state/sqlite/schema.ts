// The SQLite job store's rows and schema, and how a database written by an earlier release is brought up to it:
// numbered steps (JOB_SCHEMA), each applied once in one transaction with the version it reaches.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type SchemaStep, migrateSchema } from '../../../sqlite-schema.js';
import { JOB_STATES } from '../job.js';

export type Db = Database.Database;


/** The stage of a row written before stages were recorded (schema step 2). */
const LEGACY_STAGE = `CASE
  WHEN state IN ('receiving', 'complete') THEN 'receiving'
  WHEN state = 'queued' THEN 'waiting'
  WHEN state = 'sending' THEN 'sending'
  WHEN state = 'processing' THEN CASE
    WHEN detail LIKE 'reading %' THEN 'reading'
    WHEN detail LIKE 'brain extraction%' THEN 'extraction'
    WHEN detail LIKE 'registering%' THEN 'registration'
    WHEN detail LIKE 'segmenting%' THEN 'segmentation'
    WHEN detail LIKE 'building %' THEN 'building'
    ELSE 'processing' END
  END`;

function columnsOf(db: Db, table: string): Set<string> {
  return new Set((db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name));
}

/** Opens (creating or migrating) the job database in `file`. */
export function openJobDatabase(file: string): Db {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL: a commit is in the WAL (in the OS) when it returns, so a killed process loses nothing; instances
  // themselves are fsynced in the spool, which is scanned at start.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrateSchema(db, file, JOB_SCHEMA);
  return db;
}

/**
 * The job database's schema, step by step (src/sqlite-schema.ts applies them; released steps are never changed).
 * Step 1 is the schema of release 0.1.0, written so that it also adopts a 0.1.0 database, which carries no version.
 */
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
      const columns = columnsOf(db, 'jobs');
      for (const column of ['patient_name', 'patient_id', 'accession_number', 'study_description', 'study_date', 'series_number']) {
        if (!columns.has(column)) db.exec(`ALTER TABLE jobs ADD COLUMN ${column} TEXT`);
      }
    },
  },
  {
    version: 2,
    description: 'the stage of each job and event, a typed value recorded by the transitions',
    up(db) {
      // Rows written before stages were recorded get theirs from the state, and for processing from the words the
      // processing wrote then (the only place those words are read).
      db.exec(`ALTER TABLE jobs ADD COLUMN stage TEXT; UPDATE jobs SET stage = ${LEGACY_STAGE}`);
      db.exec(`ALTER TABLE job_events ADD COLUMN stage TEXT; UPDATE job_events SET stage = ${LEGACY_STAGE}`);
      // Every change of state, stage or detail is an event, written by SQLite itself so that no code path can skip
      // it: the job's timeline and the time each stage took come from here.
      db.exec(`
        DROP TRIGGER IF EXISTS job_created;
        DROP TRIGGER IF EXISTS job_changed;
        CREATE TRIGGER job_event_created AFTER INSERT ON jobs BEGIN
          INSERT INTO job_events (job_id, at, state, stage, detail, reason) VALUES (NEW.id, NEW.created_at, NEW.state, NEW.stage, NEW.detail, NEW.reason);
        END;
        CREATE TRIGGER job_event_changed AFTER UPDATE OF state, stage, detail ON jobs
          WHEN NEW.state IS NOT OLD.state OR NEW.stage IS NOT OLD.stage OR NEW.detail IS NOT OLD.detail BEGIN
          INSERT INTO job_events (job_id, at, state, stage, detail, reason)
            VALUES (NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.state, NEW.stage, NEW.detail, NEW.reason);
        END;
      `);
    },
  },
  {
    version: 3,
    description: 'the review flag of each job, and results held for review until a person releases them',
    up(db) {
      db.exec('ALTER TABLE jobs ADD COLUMN review TEXT; ALTER TABLE jobs ADD COLUMN held_for TEXT; ALTER TABLE jobs ADD COLUMN released_by TEXT');
      db.exec('CREATE INDEX jobs_flagged ON jobs (id) WHERE review IS NOT NULL');
    },
  },
];
