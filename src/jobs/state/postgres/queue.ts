// The queue on PostgreSQL: jobs, their states and events. Every change of state is one UPDATE that checks the state
// in its WHERE clause (./rows.ts builds it, as for SQLite), so that a concurrent change, from this node or another,
// cannot slip between the check and the write.
//
// The job rows are the queue: a job is taken by `SELECT … FOR UPDATE SKIP LOCKED` and its claim transition in one
// transaction, so that several nodes on one database never take the same job and never wait on each other's locks.
// A queue library (pg-boss, graphile-worker) is not used: it keeps jobs in tables of its own, and a claim there could
// not be atomic with the transition table, the events and the instance registry kept here.
import { JOB_STATES, type Job, type JobState } from '../job.js';
import { type JobRow, now, ownerAfter, recoveryOutcome, recoverySteps, toJob, transitionUpdate } from '../rows.js';
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

/**
 * Moves the job by the named transition; the job afterwards, or undefined when its state did not allow it. `node`
 * is the node making the change: a claim makes it the job's owner; with `fenced`, the change is refused when another
 * node owns the job (this node lost it to a takeover).
 */
export async function transitionJob(sql: Sql, id: number, name: TransitionName, change: TransitionChange = {}, node?: string, fenced = false): Promise<Job | undefined> {
  const owner = { set: ownerAfter(name, node ?? ''), fence: fenced ? node : undefined };
  const { sql: update, args } = transitionUpdate(id, name, change, dollar, owner);
  const row = await sql.row<JobRow>(`${update} RETURNING *`, args);
  return row && toJob(row);
}

export async function countJobsByState(sql: Sql): Promise<Record<JobState, number>> {
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  for (const row of await sql.rows<{ state: JobState; n: number }>('SELECT state, count(*) AS n FROM jobs GROUP BY state')) counts[row.state] = row.n;
  return counts;
}

/** Whether a node named `node` answered within `leaseSeconds` (SQL over the nodes table, `$lease` the lease in seconds). */
export function liveNode(node: string, lease: string): string {
  return `EXISTS (SELECT 1 FROM nodes n WHERE n.name = ${node} AND n.heartbeat_at > now() - make_interval(secs => ${lease}))`;
}

/** An association of a live node other than `$node` still delivers the series of job `job`. */
function deliveredElsewhere(job: string): string {
  return `EXISTS (SELECT 1 FROM series_deliveries d WHERE d.job_id = ${job} AND d.node <> $2 AND ${liveNode('d.node', '$3')})`;
}

/**
 * receiving → complete → queued, unless an association of another live node is still delivering the series (this
 * node's own associations are its SeriesCompletion's business).
 */
export async function markJobComplete(db: PgDb, id: number, node: string, leaseSeconds: number): Promise<Job | undefined> {
  return db.transaction(async (tx) => {
    const open = await tx.row(`SELECT 1 FROM jobs WHERE id = $1 AND ${deliveredElsewhere('$1')}`, [id, node, leaseSeconds]);
    if (open || !(await transitionJob(tx, id, 'complete', {}, node))) return undefined;
    return transitionJob(tx, id, 'enqueue', {}, node);
  });
}

/**
 * Completes every series whose last instance (received by any node) is older than `idleBefore` and that no live
 * node's association is delivering; the jobs queued.
 */
export async function completeIdleSeries(db: PgDb, idleBefore: Date, node: string, leaseSeconds: number): Promise<Job[]> {
  return db.transaction(async (tx) => {
    const delivering = `EXISTS (SELECT 1 FROM series_deliveries d WHERE d.job_id = jobs.id AND ${liveNode('d.node', '$2')})`;
    const idle = await tx.rows<{ id: number }>(
      `SELECT id FROM jobs WHERE state = 'receiving' AND last_instance_at < $1 AND NOT ${delivering} ORDER BY id FOR UPDATE SKIP LOCKED`,
      [idleBefore.toISOString(), leaseSeconds],
    );
    const queued: Job[] = [];
    for (const { id } of idle) {
      if (!(await transitionJob(tx, id, 'complete', {}, node))) continue;
      const job = await transitionJob(tx, id, 'enqueue', {}, node);
      if (job) queued.push(job);
    }
    return queued;
  });
}

/** Takes the oldest queued job: it is `processing`, owned by `node`. */
export async function claimNextJob(db: PgDb, node: string): Promise<Job | undefined> {
  return db.transaction(async (tx) => {
    const next = await tx.row<{ id: number }>("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED");
    return next && transitionJob(tx, next.id, 'claim', {}, node);
  });
}

/**
 * Takes the oldest job waiting to be sent that no other node holds, not held for review and not among `busy`: it
 * is owned by `node` from now on (its state does not change, so no event), and no other node sends it.
 */
export async function nextJobToSend(db: PgDb, node: string, busy: number[]): Promise<Job | undefined> {
  const ids = busy.filter(Number.isInteger);
  const row = await db.row<JobRow>(
    `UPDATE jobs SET owner = $1, updated_at = $3 WHERE id = (SELECT id FROM jobs WHERE state = 'sending' AND held_for IS NULL AND (owner IS NULL OR owner = $1)
       AND NOT (id = ANY($2::bigint[])) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *`,
    [node, ids, now()],
  );
  return row && toJob(row);
}

/**
 * After a restart of `node`: its own jobs (those it was computing or sending) and those nobody holds, never another
 * node's (a live node's are its own business, a dead node's are taken over). See JobStore.recoverAfterRestart.
 */
export async function recoverJobs(db: PgDb, node: string, maxInterruptions: number, canSend: (job: Job) => boolean) {
  return db.transaction(async (tx) => {
    const mine = "state IN ('processing', 'sending', 'complete') AND (owner = $1 OR owner IS NULL)";
    const unfinished = await jobsWhere(tx, mine, [node], 'ORDER BY id FOR UPDATE');
    return { ...(await recoverSome(tx, node, unfinished, maxInterruptions, canSend)), receiving: await jobsWhere(tx, "state = 'receiving'", []) };
  });
}

/**
 * Jobs `node` holds (computing or sending) that it does not run any more, untouched for `quietMs`: their end could
 * not be recorded (the database was away then). Sent again or queued again, never failed as poison.
 */
export async function recoverOrphans(db: PgDb, node: string, running: number[], quietMs: number, canSend: (job: Job) => Promise<boolean>) {
  const where = "state IN ('processing', 'sending') AND owner = $1 AND NOT (id = ANY($2::bigint[])) AND updated_at < $3";
  const args = [node, running, new Date(Date.now() - quietMs).toISOString()];
  const orphans = await jobsWhere(db, where, args);
  if (orphans.length === 0) return { requeued: [], resending: [], poisoned: [] };
  const sendable = new Set<number>();
  for (const job of orphans) if (job.state === 'sending' && (await canSend(job))) sendable.add(job.id);
  return db.transaction(async (tx) => {
    const still = await jobsWhere(tx, where, args, 'ORDER BY id FOR UPDATE');
    const cause = () => 'the job database being out of reach when it ended';
    return recoverSome(tx, node, still, 0, (job) => sendable.has(job.id), cause);
  });
}

/** Recovers `unfinished` (recoverySteps): afterwards nobody holds them. */
async function recoverSome(tx: Sql, node: string, unfinished: Job[], maxInterruptions: number, canSend: (job: Job) => boolean, cause?: (job: Job) => string) {
  const steps = recoverySteps(unfinished, maxInterruptions, canSend, cause);
  const after: Job[] = [];
  for (const step of steps) after.push((await transitionJob(tx, step.job.id, step.name, step.change, node)) ?? step.job);
  // Whoever sends them next owns them; this node may not send.
  await tx.run('UPDATE jobs SET owner = NULL WHERE id = ANY($1::bigint[])', [steps.map((step) => step.job.id)]);
  return recoveryOutcome(steps, after);
}

export async function jobEvents(sql: Sql, id: number): Promise<JobEvent[]> {
  const rows = await sql.rows<JobEvent & { node: string | null }>('SELECT at, state, stage, detail, reason, node FROM job_events WHERE job_id = $1 ORDER BY id', [id]);
  return rows.map(({ node, ...event }) => (node ? { ...event, node } : event));
}
