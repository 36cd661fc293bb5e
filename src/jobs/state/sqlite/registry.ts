// The instance registry on SQLite: which instances of each series were received, the job each series belongs to,
// and the one destination a series' results may be restricted to.
import type { Job } from '../job.js';
import { type JobRow, REOPEN_DETAIL, SUPERSEDED_REASON, instanceDecision, lateNote, now, receivedAgainDetail, toJob } from '../rows.js';
import type { ReceivedInstance, RecordedInstance } from '../store.js';
import type { SqliteQueue } from './queue.js';
import type { Db } from './schema.js';

export class SqliteRegistry {
  constructor(
    private readonly db: Db,
    private readonly queue: SqliteQueue,
  ) {}

  hasInstance(seriesInstanceUid: string, sopInstanceUid: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM instances WHERE series_instance_uid = ? AND sop_instance_uid = ?').get(seriesInstanceUid, sopInstanceUid);
  }

  seriesInstances(seriesInstanceUid: string): Set<string> {
    const rows = this.db.prepare('SELECT sop_instance_uid AS uid FROM instances WHERE series_instance_uid = ?').all(seriesInstanceUid) as Array<{ uid: string }>;
    return new Set(rows.map((r) => r.uid));
  }

  latestJobOfSeries(seriesInstanceUid: string): Job | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE series_instance_uid = ? ORDER BY id DESC LIMIT 1').get(seriesInstanceUid) as JobRow | undefined;
    return row && toJob(row);
  }

  recordInstance(instance: ReceivedInstance): RecordedInstance {
    return this.db.transaction((): RecordedInstance => {
      const t = now();
      const latest = this.latestJobOfSeries(instance.seriesInstanceUid);
      let id: number;
      let created = false;
      let reopened = false;
      let superseded: Job | undefined;
      const decision = instanceDecision(latest, this.hasInstance(instance.seriesInstanceUid, instance.sopInstanceUid));
      if (latest && decision === 'again') {
        // Sent again (the spool refused it had its content changed): the started job has it already.
        this.addInstance(instance, t, 'replace');
        return { job: latest, created: false, reopened: false, late: 'again' };
      }
      if (latest && decision === 'late') {
        // Its derived series exists (or is being stored): another job would put a second one in the archive.
        // Its instance count stays what it computed; the registry holds the late ones too (a retry takes them).
        this.addInstance(instance, t, 'replace');
        const { n } = this.db.prepare('SELECT count(*) AS n FROM instances WHERE series_instance_uid = ?').get(instance.seriesInstanceUid) as { n: number };
        if (n > latest.instances) this.db.prepare('UPDATE jobs SET detail = ?, updated_at = ? WHERE id = ?').run(lateNote(latest, n - latest.instances), t, latest.id);
        return { job: this.queue.get(latest.id)!, created: false, reopened: false, late: 'new' };
      }
      if (latest && decision === 'join') {
        id = latest.id;
        reopened = latest.state !== 'receiving' && this.queue.transition(id, 'reopen', { detail: REOPEN_DETAIL });
      } else {
        // Still computing: its results would miss the late instance; it stops (never sends) and a new job takes the
        // whole series, so that one derived series reaches the archive.
        if (latest?.state === 'processing' && this.queue.transition(latest.id, 'fail', { reason: SUPERSEDED_REASON })) {
          superseded = this.queue.get(latest.id);
        }
        id = Number(
          this.db
            .prepare(
              `INSERT INTO jobs (study_instance_uid, series_instance_uid, calling_ae, modality, series_description, sop_class_uid,
                 state, stage, detail, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'receiving', 'receiving', ?, ?, ?)`,
            )
            .run(
              instance.studyInstanceUid,
              instance.seriesInstanceUid,
              instance.callingAe ?? null,
              instance.modality ?? null,
              instance.seriesDescription ?? null,
              instance.sopClassUid ?? null,
              receivedAgainDetail(latest),
              t,
              t,
            ).lastInsertRowid,
        );
        created = true;
      }
      this.addInstance(instance, t, 'replace');
      this.db.prepare('UPDATE jobs SET last_instance_at = ?, updated_at = ? WHERE id = ?').run(t, t, id);
      this.recount(id, instance.seriesInstanceUid);
      return { job: this.queue.get(id)!, created, reopened, superseded };
    })();
  }

  recordProcessedInstance(jobId: number, instance: ReceivedInstance): void {
    this.db.transaction(() => {
      this.addInstance(instance, now(), 'keep');
      this.recount(jobId, instance.seriesInstanceUid);
    })();
  }

  private addInstance(instance: ReceivedInstance, at: string, existing: 'replace' | 'keep'): void {
    const onConflict = existing === 'replace' ? 'DO UPDATE SET bytes = excluded.bytes, received_at = excluded.received_at' : 'DO NOTHING';
    this.db
      .prepare(
        `INSERT INTO instances (series_instance_uid, sop_instance_uid, bytes, received_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (series_instance_uid, sop_instance_uid) ${onConflict}`,
      )
      .run(instance.seriesInstanceUid, instance.sopInstanceUid, instance.bytes, at);
  }

  /** The job's instance count and bytes from the series' registered instances. */
  private recount(jobId: number, seriesInstanceUid: string): void {
    this.db
      .prepare(
        `UPDATE jobs SET instances = (SELECT count(*) FROM instances WHERE series_instance_uid = ?),
           bytes = (SELECT coalesce(sum(bytes), 0) FROM instances WHERE series_instance_uid = ?) WHERE id = ?`,
      )
      .run(seriesInstanceUid, seriesInstanceUid, jobId);
  }

  forgetSeriesInstances(seriesInstanceUid: string): void {
    this.db.prepare('DELETE FROM instances WHERE series_instance_uid = ?').run(seriesInstanceUid);
  }

  studyOfSeries(seriesInstanceUid: string): string | undefined {
    return this.latestJobOfSeries(seriesInstanceUid)?.studyInstanceUid;
  }

  finishedBefore(before: Date): Job[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM jobs j WHERE state = 'done' AND finished_at < ?
             AND id = (SELECT max(id) FROM jobs WHERE series_instance_uid = j.series_instance_uid) ORDER BY finished_at`,
        )
        .all(before.toISOString()) as JobRow[]
    ).map(toJob);
  }

  /** Removes delivered jobs that finished before `before`, with their events and, where no job of the series is left, its instance list. */
  purgeDeliveredBefore(before: Date): Job[] {
    return this.db.transaction(() => {
      const jobs = (this.db.prepare("SELECT * FROM jobs WHERE state = 'done' AND finished_at < ? ORDER BY id").all(before.toISOString()) as JobRow[]).map(toJob);
      for (const job of jobs) {
        this.db.prepare('DELETE FROM job_events WHERE job_id = ?').run(job.id);
        this.db.prepare('DELETE FROM jobs WHERE id = ?').run(job.id);
        if (!this.db.prepare('SELECT 1 FROM jobs WHERE series_instance_uid = ?').get(job.seriesInstanceUid)) {
          this.db.prepare('DELETE FROM instances WHERE series_instance_uid = ?').run(job.seriesInstanceUid);
          this.db.prepare('DELETE FROM series_destination WHERE series_instance_uid = ?').run(job.seriesInstanceUid);
        }
      }
      return jobs;
    })();
  }

  restrictDestination(seriesInstanceUid: string, destination: string): void {
    this.db.prepare('INSERT OR REPLACE INTO series_destination (series_instance_uid, destination) VALUES (?, ?)').run(seriesInstanceUid, destination);
  }

  destinationOf(seriesInstanceUid: string): string | undefined {
    return (this.db.prepare('SELECT destination FROM series_destination WHERE series_instance_uid = ?').get(seriesInstanceUid) as { destination: string } | undefined)
      ?.destination;
  }
}
