// The SQLite job store's rows and schema, and how a database written by an earlier release is brought up to it:
// numbered steps (JOB_SCHEMA), each applied once in one transaction with the version it reaches.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type SchemaStep, migrateSchema } from '../../../sqlite-schema.js';
import { JOB_STATES, type Job, type JobState, type Stage } from '../job.js';

export type Db = Database.Database;

export interface JobRow {
  id: number;
  study_instance_uid: string;
  series_instance_uid: string;
  calling_ae: string | null;
  modality: string | null;
  series_description: string | null;
  sop_class_uid: string | null;
  state: JobState;
  stage: Stage | null;
  detail: string | null;
  reason: string | null;
  instances: number;
  bytes: number;
  attempts: number;
  created_at: string;
  updated_at: string;
  last_instance_at: string | null;
  finished_at: string | null;
  patient_name?: string | null;
  patient_id?: string | null;
  accession_number?: string | null;
  study_description?: string | null;
  study_date?: string | null;
  series_number?: string | null;
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    studyInstanceUid: row.study_instance_uid,
    seriesInstanceUid: row.series_instance_uid,
    callingAe: row.calling_ae,
    modality: row.modality,
    seriesDescription: row.series_description,
    sopClassUid: row.sop_class_uid,
    state: row.state,
    stage: row.stage ?? null,
    detail: row.detail,
    reason: row.reason,
    instances: row.instances,
    bytes: row.bytes,
    attempts: row.attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastInstanceAt: row.last_instance_at,
    finishedAt: row.finished_at,
    patientName: row.patient_name ?? null,
    patientId: row.patient_id ?? null,
    accessionNumber: row.accession_number ?? null,
    studyDescription: row.study_description ?? null,
    studyDate: row.study_date ?? null,
    seriesNumber: row.series_number ?? null,
  };
}

export const now = () => new Date().toISOString();

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
];
