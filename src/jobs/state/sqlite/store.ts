// The job store on SQLite (write-ahead log): one row per job, one row per distinct instance of a series.
// It survives kill -9: a committed transaction is in the WAL file, which SQLite replays at the next open.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrateSchema } from '../../../sqlite-schema.js';
import { JOB_STATES, type Job, type JobState } from '../job.js';
import { JOB_SCHEMA } from './schema.js';
import { type JobEvent, type JobFilter, type JobIdentification, type JobStore, MAX_LIST_LIMIT, type ReceivedInstance } from '../store.js';


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
  patient_name?: string | null;
  patient_id?: string | null;
  accession_number?: string | null;
  study_description?: string | null;
  study_date?: string | null;
  series_number?: string | null;
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
    patientName: row.patient_name ?? null,
    patientId: row.patient_id ?? null,
    accessionNumber: row.accession_number ?? null,
    studyDescription: row.study_description ?? null,
    studyDate: row.study_date ?? null,
    seriesNumber: row.series_number ?? null,
  };
}




const now = () => new Date().toISOString();

/** SQLite reads a negative LIMIT as "no limit": every list is capped whatever a caller passes. */
function boundedLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(limit)));
}

export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: a commit is in the WAL (in the OS) when it returns, so a killed process loses nothing; instances
    // themselves are fsynced in the spool, which is scanned at start.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrateSchema(this.db, file, JOB_SCHEMA);
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
    return (this.db.prepare(sql).all(...args, boundedLimit(options.limit, 1000)) as JobRow[]).map(toJob);
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

  /** The oldest job waiting in `sending` that is not among `busy` (those being computed or sent now); state unchanged. */
  nextToSend(busy: number[]): Job | undefined {
    const ids = busy.filter(Number.isInteger);
    const row = this.db
      .prepare(`SELECT * FROM jobs WHERE state = 'sending'${ids.length ? ` AND id NOT IN (${ids.join(', ')})` : ''} ORDER BY id LIMIT 1`)
      .get() as JobRow | undefined;
    return row && toJob(row);
  }

  setState(id: number, state: JobState, detail?: string | null, reason?: string | null): void {
    const t = now();
    const finished = state === 'done' || state === 'failed' ? t : null;
    this.db
      .prepare('UPDATE jobs SET state = ?, detail = ?, reason = ?, updated_at = ?, finished_at = ? WHERE id = ?')
      .run(state, detail ?? null, reason ?? null, t, finished, id);
  }

  /**
   * After a restart: jobs that were sending and whose results are still on disk (`canSend`) go on sending; other jobs
   * that were being processed or sent start again from the queue; complete jobs are queued. Returns the jobs still
   * receiving, whose idle timers must be re-armed.
   */
  recoverAfterRestart(
    maxInterruptions = 0,
    canSend: (job: Job) => boolean = () => false,
  ): { requeued: Job[]; resending: Job[]; receiving: Job[]; poisoned: Job[] } {
    return this.db.transaction(() => {
      const resending = (this.db.prepare("SELECT * FROM jobs WHERE state = 'sending' ORDER BY id").all() as JobRow[]).map(toJob).filter((job) => canSend(job));
      const resend = this.db.prepare("UPDATE jobs SET detail = 'interrupted while sending by a restart; sends again', updated_at = ? WHERE id = ?");
      for (const job of resending) resend.run(now(), job.id);
      const resumed = new Set(resending.map((j) => j.id));
      const interrupted = (this.db.prepare("SELECT * FROM jobs WHERE state IN ('processing', 'sending', 'complete') ORDER BY id").all() as JobRow[]).filter(
        (row) => !resumed.has(row.id),
      );
      const update = this.db.prepare("UPDATE jobs SET state = 'queued', detail = ?, updated_at = ? WHERE id = ?");
      // A job the node died processing, again and again, is what killed it: it fails rather than crash-looping.
      const poison = interrupted.filter((row) => maxInterruptions > 0 && row.state === 'processing' && row.attempts >= maxInterruptions);
      for (const row of poison) {
        this.setState(row.id, 'failed', null, `processing was cut short by ${row.attempts} restarts of the node; not retried automatically (poison job)`);
      }
      const requeued = interrupted.filter((row) => !poison.includes(row));
      for (const row of requeued) {
        update.run(row.state === 'complete' ? null : `interrupted while ${row.state} by a restart; queued again`, now(), row.id);
      }
      const receiving = (this.db.prepare("SELECT * FROM jobs WHERE state = 'receiving' ORDER BY id").all() as JobRow[]).map(toJob);
      return {
        requeued: requeued.map((r) => this.get(r.id)!),
        resending: resending.map((j) => this.get(j.id)!),
        receiving,
        poisoned: poison.map((r) => this.get(r.id)!),
      };
    })();
  }

  /** Results of `seriesInstanceUid` go to `destination` (AE@host:port) only; recorded before the series arrives. */
  restrictDestination(seriesInstanceUid: string, destination: string): void {
    this.db.prepare('INSERT OR REPLACE INTO series_destination (series_instance_uid, destination) VALUES (?, ?)').run(seriesInstanceUid, destination);
  }

  /** The only destination of a series' results, if it has one. */
  destinationOf(seriesInstanceUid: string): string | undefined {
    return (this.db.prepare('SELECT destination FROM series_destination WHERE series_instance_uid = ?').get(seriesInstanceUid) as { destination: string } | undefined)?.destination;
  }

  /** The job's changes of state and detail, oldest first. */
  events(id: number): JobEvent[] {
    return this.db.prepare('SELECT at, state, detail, reason FROM job_events WHERE job_id = ? ORDER BY id').all(id) as JobEvent[];
  }

  /** Most recent first. */
  search(filter: JobFilter): Job[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) where.push('state = ?'), args.push(filter.state);
    if (filter.from) where.push('created_at >= ?'), args.push(filter.from);
    if (filter.to) where.push('created_at < ?'), args.push(filter.to);
    if (filter.callingAe) where.push('calling_ae = ?'), args.push(filter.callingAe.trim());
    if (filter.text) {
      where.push(["patient_id", "patient_name", "accession_number", "series_description"].map((c) => `${c} LIKE ? ESCAPE '\\'`).join(' OR '));
      const like = `%${filter.text.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
      args.push(like, like, like, like);
    }
    const clause = where.length ? `WHERE ${where.map((w) => `(${w})`).join(' AND ')}` : '';
    return (this.db.prepare(`SELECT * FROM jobs ${clause} ORDER BY id DESC LIMIT ?`).all(...args, boundedLimit(filter.limit, 500)) as JobRow[]).map(toJob);
  }

  /** Calling AE titles seen, for a filter's choices. */
  callingAes(): string[] {
    return (this.db.prepare('SELECT DISTINCT calling_ae AS ae FROM jobs WHERE calling_ae IS NOT NULL ORDER BY 1').all() as Array<{ ae: string }>).map((r) => r.ae);
  }

  /** Jobs whose patient and study identification has not been read yet. */
  undescribed(limit = 50): Job[] {
    return (this.db.prepare('SELECT * FROM jobs WHERE patient_name IS NULL ORDER BY id DESC LIMIT ?').all(limit) as JobRow[]).map(toJob);
  }

  describe(id: number, ident: JobIdentification): void {
    this.db
      .prepare('UPDATE jobs SET patient_name = ?, patient_id = ?, accession_number = ?, study_description = ?, study_date = ?, series_number = ? WHERE id = ?')
      .run(ident.patientName, ident.patientId, ident.accessionNumber, ident.studyDescription, ident.studyDate, ident.seriesNumber, id);
  }

  /** Series received, processed and failed since `since`, and the turnaround (first instance to done) of those done. */
  activity(since: Date): { received: number; done: number; failed: number; turnaroundSeconds: number[] } {
    const iso = since.toISOString();
    const count = (sql: string) => (this.db.prepare(sql).get(iso) as { n: number }).n;
    const turnaround = this.db
      .prepare("SELECT (julianday(finished_at) - julianday(created_at)) * 86400 AS s FROM jobs WHERE state = 'done' AND finished_at >= ? ORDER BY s")
      .all(iso) as Array<{ s: number }>;
    return {
      received: count('SELECT count(*) AS n FROM jobs WHERE created_at >= ?'),
      done: count("SELECT count(*) AS n FROM jobs WHERE state = 'done' AND finished_at >= ?"),
      failed: count("SELECT count(*) AS n FROM jobs WHERE state = 'failed' AND finished_at >= ?"),
      turnaroundSeconds: turnaround.map((r) => r.s),
    };
  }

  /**
   * A finished job (done or failed) goes back to the queue. The processor skips what is already on disk (computed
   * results, objects an archive confirmed), so the job resumes at the stage where it stopped.
   */
  requeue(id: number, detail: string): boolean {
    return (
      this.db
        .prepare("UPDATE jobs SET state = 'queued', detail = ?, reason = NULL, finished_at = NULL, updated_at = ? WHERE id = ? AND state IN ('done', 'failed')")
        .run(detail, now(), id).changes > 0
    );
  }

  /**
   * A finished job whose results are on disk goes straight back to `sending`: the send queue sends what the
   * archives do not hold yet, and nothing is computed again.
   */
  requeueForSending(id: number, detail: string): boolean {
    return (
      this.db
        .prepare("UPDATE jobs SET state = 'sending', detail = ?, reason = NULL, finished_at = NULL, updated_at = ? WHERE id = ? AND state IN ('done', 'failed')")
        .run(detail, now(), id).changes > 0
    );
  }

  /**
   * Ends a job that is not running (receiving, complete, queued, or sending while it waits for a sending slot) as
   * failed with `reason`; the caller knows the job is not running.
   */
  cancelWaiting(id: number, reason: string): boolean {
    const t = now();
    return (
      this.db
        .prepare("UPDATE jobs SET state = 'failed', detail = NULL, reason = ?, updated_at = ?, finished_at = ? WHERE id = ? AND state IN ('receiving', 'complete', 'queued', 'sending')")
        .run(reason, t, t, id).changes > 0
    );
  }

  /** The study the series' jobs belong to (from its latest job), if the series is known. */
  studyOfSeries(seriesInstanceUid: string): string | undefined {
    const row = this.db
      .prepare('SELECT study_instance_uid FROM jobs WHERE series_instance_uid = ? ORDER BY id DESC LIMIT 1')
      .get(seriesInstanceUid) as { study_instance_uid: string } | undefined;
    return row?.study_instance_uid;
  }

  /** The latest job of a series, if any. */
  latestJobOfSeries(seriesInstanceUid: string): Job | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE series_instance_uid = ? ORDER BY id DESC LIMIT 1').get(seriesInstanceUid) as JobRow | undefined;
    return row && toJob(row);
  }

  /**
   * Records an instance as part of a finished job without re-opening it: an instance that was in the spool when
   * the job ran, but whose row was lost (the store could not write then). Its job already processed it.
   */
  recordProcessedInstance(jobId: number, instance: ReceivedInstance): void {
    this.db.transaction(() => {
      const t = now();
      this.db
        .prepare(
          `INSERT INTO instances (series_instance_uid, sop_instance_uid, bytes, received_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (series_instance_uid, sop_instance_uid) DO NOTHING`,
        )
        .run(instance.seriesInstanceUid, instance.sopInstanceUid, instance.bytes, t);
      this.db
        .prepare(
          `UPDATE jobs SET instances = (SELECT count(*) FROM instances WHERE series_instance_uid = ?),
             bytes = (SELECT coalesce(sum(bytes), 0) FROM instances WHERE series_instance_uid = ?) WHERE id = ?`,
        )
        .run(instance.seriesInstanceUid, instance.seriesInstanceUid, jobId);
    })();
  }

  /**
   * Whether the store can commit a write now (a full disk makes SQLite answer "database or disk is full" while
   * reads still work). Throws with SQLite's message when it cannot.
   */
  probeWrite(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL)');
    this.db.prepare('INSERT OR REPLACE INTO write_probe (id, at) VALUES (1, ?)').run(now());
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
