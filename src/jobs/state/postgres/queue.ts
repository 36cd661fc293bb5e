// The queue on PostgreSQL: jobs, their states and events. Every change of state is one UPDATE that checks the state
// in its WHERE clause (./rows.ts builds it, as for SQLite), so that a concurrent change, from this node or another,
// cannot slip between the check and the write.
//
// The job rows are the queue: a job is taken by `SELECT … FOR UPDATE SKIP LOCKED` and its claim transition in one
// transaction, so that several nodes on one database never take the same job and never wait on each other's locks.
// A queue library (pg-boss, graphile-worker) is not used: it keeps jobs in tables of its own, and a claim there could
// not be atomic with the transition table, the events and the instance registry kept here.
import { JOB_STATES, type Job, type JobState } from '../job.js';
import { type JobRow, recoveryOutcome, recoverySteps, toJob, transitionUpdate } from '../rows.js';
import type { JobEvent } from '../store.js';
import type { TransitionChange, TransitionName } from '../transitions.js';
import type { PgDb, Sql } from './schema.js';

const dollar = (n: number) => `$${n}`;

export async function jobById(sql: Sql, id: number): Promise<Job | undefined> {
  const row = await sql.row<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
  return row && toJob(row);
}

export async function jobsWhere(sql: Sql, where: string, args: unknown[], tail = 'ORDER BY id'): Promise<Job[]> {
  return (await sql.rows<JobRow>(`SELECT * FROM jobs ${where ? `WHERE ${where}` : ''} ${tail}`, args)).map(toJob);
}

/** Moves the job by the named transition; the job afterwards, or undefined when its state did not allow it. */
export async function transitionJob(sql: Sql, id: number, name: TransitionName, change: TransitionChange = {}): Promise<Job | undefined> {
  const { sql: update, args } = transitionUpdate(id, name, change, dollar);
  const row = await sql.row<JobRow>(`${update} RETURNING *`, args);
  return row && toJob(row);
}

export async function countJobsByState(sql: Sql): Promise<Record<JobState, number>> {
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  for (const row of await sql.rows<{ state: JobState; n: number }>('SELECT state, count(*) AS n FROM jobs GROUP BY state')) counts[row.state] = row.n;
  return counts;
}

export async function markJobComplete(db: PgDb, id: number): Promise<Job | undefined> {
  return db.transaction(async (tx) => {
    if (!(await transitionJob(tx, id, 'complete'))) return undefined;
    return transitionJob(tx, id, 'enqueue');
  });
}

export async function claimNextJob(db: PgDb): Promise<Job | undefined> {
  return db.transaction(async (tx) => {
    const next = await tx.row<{ id: number }>("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED");
    return next && transitionJob(tx, next.id, 'claim');
  });
}

/**
 * The oldest job waiting to be sent, not held and not among `busy`. Its state does not change, so the row lock ends
 * with the statement: SKIP LOCKED only passes over a job another node is changing now. Which node sends a job is the
 * business of the leases of cluster mode, which this store does not have yet.
 */
export async function nextJobToSend(sql: Sql, busy: number[]): Promise<Job | undefined> {
  const ids = busy.filter(Number.isInteger);
  const rows = await jobsWhere(sql, "state = 'sending' AND held_for IS NULL AND NOT (id = ANY($1::bigint[]))", [ids], 'ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED');
  return rows[0];
}

/** See JobStore.recoverAfterRestart; with several nodes it would take over the others' jobs too (cluster mode's leases will decide that). */
export async function recoverJobs(db: PgDb, maxInterruptions: number, canSend: (job: Job) => boolean) {
  return db.transaction(async (tx) => {
    const unfinished = await jobsWhere(tx, "state IN ('processing', 'sending', 'complete')", [], 'ORDER BY id FOR UPDATE');
    const steps = recoverySteps(unfinished, maxInterruptions, canSend);
    const after: Job[] = [];
    for (const step of steps) after.push((await transitionJob(tx, step.job.id, step.name, step.change)) ?? step.job);
    return { ...recoveryOutcome(steps, after), receiving: await jobsWhere(tx, "state = 'receiving'", []) };
  });
}

export async function jobEvents(sql: Sql, id: number): Promise<JobEvent[]> {
  return sql.rows<JobEvent>('SELECT at, state, stage, detail, reason FROM job_events WHERE job_id = $1 ORDER BY id', [id]);
}
