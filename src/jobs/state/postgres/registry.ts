// The instance registry on PostgreSQL: which instances of each series were received and the job each series belongs
// to. Recording an instance reads the series' latest job and then writes: one transaction, serialized per series by
// an advisory lock (two nodes receiving the same series must not both create a job) and holding the latest job's row
// (a node claiming it waits, or skips it, until the instance is recorded).
import type { Job } from '../job.js';
import { type JobRow, REOPEN_DETAIL, SUPERSEDED_REASON, instanceDecision, lateNote, now, receivedAgainDetail, toJob } from '../rows.js';
import type { ReceivedInstance, RecordedInstance } from '../store.js';
import { jobById, jobsWhere, transitionJob } from './queue.js';
import type { PgDb, Sql } from './schema.js';

export async function recordSeriesInstance(db: PgDb, instance: ReceivedInstance): Promise<RecordedInstance> {
  const series = instance.seriesInstanceUid;
  return db.transaction(async (tx) => {
    await tx.run('SELECT pg_advisory_xact_lock(hashtext($1))', [series]);
    const t = now();
    const row = await tx.row<JobRow>('SELECT * FROM jobs WHERE series_instance_uid = $1 ORDER BY id DESC LIMIT 1 FOR UPDATE', [series]);
    const latest = row && toJob(row);
    const known = !!(await tx.row('SELECT 1 FROM instances WHERE series_instance_uid = $1 AND sop_instance_uid = $2', [series, instance.sopInstanceUid]));
    const decision = instanceDecision(latest, known);
    if (latest && decision === 'again') {
      // Sent again (the spool refused it had its content changed): the started job has it already.
      await addInstance(tx, instance, t, 'replace');
      return { job: latest, created: false, reopened: false, late: 'again' };
    }
    if (latest && decision === 'late') {
      // Its derived series exists (or is being stored): the job keeps the count it computed, the registry the instance.
      await addInstance(tx, instance, t, 'replace');
      const n = (await tx.row<{ n: number }>('SELECT count(*) AS n FROM instances WHERE series_instance_uid = $1', [series]))!.n;
      if (n > latest.instances) await tx.run('UPDATE jobs SET detail = $1, updated_at = $2 WHERE id = $3', [lateNote(latest, n - latest.instances), t, latest.id]);
      return { job: (await jobById(tx, latest.id))!, created: false, reopened: false, late: 'new' };
    }
    let id: number;
    let reopened = false;
    let superseded: Job | undefined;
    if (latest && decision === 'join') {
      id = latest.id;
      reopened = latest.state !== 'receiving' && !!(await transitionJob(tx, id, 'reopen', { detail: REOPEN_DETAIL }));
    } else {
      if (latest?.state === 'processing') superseded = await transitionJob(tx, latest.id, 'fail', { reason: SUPERSEDED_REASON });
      const inserted = await tx.row<{ id: number }>(
        `INSERT INTO jobs (study_instance_uid, series_instance_uid, calling_ae, modality, series_description, sop_class_uid,
           state, stage, detail, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'receiving', 'receiving', $7, $8, $8) RETURNING id`,
        [instance.studyInstanceUid, series, instance.callingAe ?? null, instance.modality ?? null, instance.seriesDescription ?? null, instance.sopClassUid ?? null, receivedAgainDetail(latest), t],
      );
      id = inserted!.id;
    }
    await addInstance(tx, instance, t, 'replace');
    await tx.run('UPDATE jobs SET last_instance_at = $1, updated_at = $1 WHERE id = $2', [t, id]);
    await recount(tx, id, series);
    return { job: (await jobById(tx, id))!, created: decision === 'new', reopened, superseded };
  });
}

export async function recordInstanceOfFinishedJob(db: PgDb, jobId: number, instance: ReceivedInstance): Promise<void> {
  await db.transaction(async (tx) => {
    await addInstance(tx, instance, now(), 'keep');
    await recount(tx, jobId, instance.seriesInstanceUid);
  });
}

async function addInstance(sql: Sql, instance: ReceivedInstance, at: string, existing: 'replace' | 'keep'): Promise<void> {
  const onConflict = existing === 'replace' ? 'DO UPDATE SET bytes = excluded.bytes, received_at = excluded.received_at' : 'DO NOTHING';
  await sql.run(
    `INSERT INTO instances (series_instance_uid, sop_instance_uid, bytes, received_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (series_instance_uid, sop_instance_uid) ${onConflict}`,
    [instance.seriesInstanceUid, instance.sopInstanceUid, instance.bytes, at],
  );
}

/** The job's instance count and bytes from the series' registered instances. */
async function recount(sql: Sql, jobId: number, seriesInstanceUid: string): Promise<void> {
  await sql.run(
    `UPDATE jobs SET instances = (SELECT count(*) FROM instances WHERE series_instance_uid = $1),
       bytes = (SELECT coalesce(sum(bytes), 0) FROM instances WHERE series_instance_uid = $1) WHERE id = $2`,
    [seriesInstanceUid, jobId],
  );
}

/** Finished jobs whose series has no newer job, finished before `before`, oldest first. */
export async function finishedJobsBefore(sql: Sql, before: Date): Promise<Job[]> {
  const where = "state = 'done' AND finished_at < $1 AND id = (SELECT max(id) FROM jobs n WHERE n.series_instance_uid = jobs.series_instance_uid)";
  return jobsWhere(sql, where, [before.toISOString()], 'ORDER BY finished_at');
}

/** Removes delivered jobs that finished before `before`, with their events and, where no job of the series is left, its instance list. */
export async function purgeDeliveredJobs(db: PgDb, before: Date): Promise<Job[]> {
  return db.transaction(async (tx) => {
    const jobs = await jobsWhere(tx, "state = 'done' AND finished_at < $1", [before.toISOString()], 'ORDER BY id FOR UPDATE');
    const ids = jobs.map((job) => job.id);
    const series = [...new Set(jobs.map((job) => job.seriesInstanceUid))];
    await tx.run('DELETE FROM job_events WHERE job_id = ANY($1::bigint[])', [ids]);
    await tx.run('DELETE FROM jobs WHERE id = ANY($1::bigint[])', [ids]);
    const orphaned = 'series_instance_uid = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.series_instance_uid = t.series_instance_uid)';
    await tx.run(`DELETE FROM instances t WHERE ${orphaned}`, [series]);
    await tx.run(`DELETE FROM series_destination t WHERE ${orphaned}`, [series]);
    return jobs;
  });
}
