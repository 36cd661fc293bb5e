// The durable job store (SQLite, write-ahead log): one row per job, one row per distinct instance of a series.
// It survives kill -9: a committed transaction is in the WAL file, which SQLite replays at the next open.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { JOB_STATES, type Job, type JobState } from './types.js';

export interface ReceivedInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid?: string;
  modality?: string;
  seriesDescription?: string;
  callingAe?: string;
  bytes: number;
}

/** States in which a series is still gathering instances or waiting to run: a late instance joins that job. */
const OPEN_STATES: JobState[] = ['receiving', 'complete', 'queued'];

interface JobRow {
  id: number;
  study_instance_uid: string;
  series_instance_uid: string;
  calling_ae: string | null;
  modality: string | null;
  series_description: string | null;
  sop_class_uid: string | null;
  state: JobState;
  detail: string | null;
  reason: string | null;
  instances: number;
  bytes: number;
  attempts: number;
  created_at: string;
  updated_at: string;
  last_instance_at: string | null;
  finished_at: string | null;
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    studyInstanceUid: row.study_instance_uid,
    seriesInstanceUid: row.series_instance_uid,
    callingAe: row.calling_ae,
    modality: row.modality,
    seriesDescription: row.series_description,
    sopClassUid: row.sop_class_uid,
    state: row.state,
    detail: row.detail,
    reason: row.reason,
    instances: row.instances,
    bytes: row.bytes,
    attempts: row.attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastInstanceAt: row.last_instance_at,
    finishedAt: row.finished_at,
  };
}

const now = () => new Date().toISOString();

export class JobStore {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: a commit is in the WAL (in the OS) when it returns, so a killed process loses nothing; instances
    // themselves are fsynced in the spool, which is scanned at start.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
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
    `);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get(id: number): Job | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  /** Most recent first. */
  list(options: { state?: JobState; seriesInstanceUid?: string; limit?: number } = {}): Job[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (options.state) {
      where.push('state = ?');
      args.push(options.state);
    }
    if (options.seriesInstanceUid) {
      where.push('series_instance_uid = ?');
      args.push(options.seriesInstanceUid);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, options.limit ?? 1000) as JobRow[]).map(toJob);
  }

  countsByState(): Record<JobState, number> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const row of this.db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: JobState; n: number }>) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  hasInstance(seriesInstanceUid: string, sopInstanceUid: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM instances WHERE series_instance_uid = ? AND sop_instance_uid = ?').get(seriesInstanceUid, sopInstanceUid);
  }

  /**
   * Records a spooled instance and returns the job it belongs to: the series' open job (re-opened to `receiving`
   * if it was already complete or queued), or a new job when the series has none or its last one already started.
   */
  recordInstance(instance: ReceivedInstance): { job: Job; created: boolean; reopened: boolean } {
    return this.db.transaction(() => {
      const t = now();
      const latest = this.db
        .prepare('SELECT * FROM jobs WHERE series_instance_uid = ? ORDER BY id DESC LIMIT 1')
        .get(instance.seriesInstanceUid) as JobRow | undefined;
      let id: number;
      let created = false;
      let reopened = false;
      if (latest && OPEN_STATES.includes(latest.state)) {
        id = latest.id;
        reopened = latest.state !== 'receiving';
        if (reopened) this.db.prepare("UPDATE jobs SET state = 'receiving', detail = 'a late instance re-opened the series' WHERE id = ?").run(id);
      } else {
        id = Number(
          this.db
            .prepare(
              `INSERT INTO jobs (study_instance_uid, series_instance_uid, calling_ae, modality, series_description, sop_class_uid,
                 state, detail, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'receiving', ?, ?, ?)`,
            )
            .run(
              instance.studyInstanceUid,
              instance.seriesInstanceUid,
              instance.callingAe ?? null,
              instance.modality ?? null,
              instance.seriesDescription ?? null,
              instance.sopClassUid ?? null,
              latest ? `series received again after job ${latest.id} (${latest.state})` : null,
              t,
              t,
            ).lastInsertRowid,
        );
        created = true;
      }
      this.db
        .prepare(
          `INSERT INTO instances (series_instance_uid, sop_instance_uid, bytes, received_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (series_instance_uid, sop_instance_uid) DO UPDATE SET bytes = excluded.bytes, received_at = excluded.received_at`,
        )
        .run(instance.seriesInstanceUid, instance.sopInstanceUid, instance.bytes, t);
      this.db
        .prepare(
          `UPDATE jobs SET
             instances = (SELECT count(*) FROM instances WHERE series_instance_uid = ?),
             bytes = (SELECT coalesce(sum(bytes), 0) FROM instances WHERE series_instance_uid = ?),
             last_instance_at = ?, updated_at = ? WHERE id = ?`,
        )
        .run(instance.seriesInstanceUid, instance.seriesInstanceUid, t, t, id);
      return { job: this.get(id)!, created, reopened };
    })();
  }

  /** receiving → complete → queued, when the series has been idle long enough. */
  markComplete(id: number): Job | undefined {
    return this.db.transaction(() => {
      const changed = this.db
        .prepare("UPDATE jobs SET state = 'complete', detail = NULL, updated_at = ? WHERE id = ? AND state = 'receiving'")
        .run(now(), id).changes;
      if (changed === 0) return undefined;
      this.db.prepare("UPDATE jobs SET state = 'queued', updated_at = ? WHERE id = ? AND state = 'complete'").run(now(), id);
      return this.get(id);
    })();
  }

  /** Takes the oldest queued job and marks it `processing`. */
  claimNext(): Job | undefined {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1").get() as { id: number } | undefined;
      if (!row) return undefined;
      this.db
        .prepare("UPDATE jobs SET state = 'processing', detail = NULL, reason = NULL, attempts = attempts + 1, updated_at = ? WHERE id = ?")
        .run(now(), row.id);
      return this.get(row.id);
    })();
  }

  setState(id: number, state: JobState, detail?: string | null, reason?: string | null): void {
    const t = now();
    const finished = state === 'done' || state === 'failed' ? t : null;
    this.db
      .prepare('UPDATE jobs SET state = ?, detail = ?, reason = ?, updated_at = ?, finished_at = ? WHERE id = ?')
      .run(state, detail ?? null, reason ?? null, t, finished, id);
  }

  /**
   * After a restart: jobs that were being processed or sent start again from the queue; complete jobs are queued.
   * Returns the jobs still receiving, whose idle timers must be re-armed.
   */
  recoverAfterRestart(): { requeued: Job[]; receiving: Job[] } {
    return this.db.transaction(() => {
      const interrupted = this.db.prepare("SELECT * FROM jobs WHERE state IN ('processing', 'sending', 'complete') ORDER BY id").all() as JobRow[];
      const update = this.db.prepare("UPDATE jobs SET state = 'queued', detail = ?, updated_at = ? WHERE id = ?");
      for (const row of interrupted) {
        update.run(row.state === 'complete' ? null : `interrupted while ${row.state} by a restart; queued again`, now(), row.id);
      }
      const receiving = (this.db.prepare("SELECT * FROM jobs WHERE state = 'receiving' ORDER BY id").all() as JobRow[]).map(toJob);
      return { requeued: interrupted.map((r) => this.get(r.id)!), receiving };
    })();
  }

  /** Forgets the instances of a series whose spool folder was removed (a later resend counts afresh). */
  forgetSeriesInstances(seriesInstanceUid: string): void {
    this.db.prepare('DELETE FROM instances WHERE series_instance_uid = ?').run(seriesInstanceUid);
  }

  /** Finished jobs whose series has no newer job, finished before `before` (their spool can be removed). */
  finishedBefore(before: Date): Job[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM jobs j WHERE state = 'done' AND finished_at < ?
             AND id = (SELECT max(id) FROM jobs WHERE series_instance_uid = j.series_instance_uid)`,
        )
        .all(before.toISOString()) as JobRow[]
    ).map(toJob);
  }
}
