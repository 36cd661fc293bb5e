// The nodes of a cluster on PostgreSQL: registration and heartbeats (times from the database server's clock, so
// that nodes whose clocks differ agree on who is alive), the list the operations page shows, the deliveries in
// progress per node and association, and the takeover of a dead node's jobs.
import type { Job } from '../job.js';
import type { ClusterNode, NodeRole, Takeover } from '../nodes.js';
import { recoveryOutcome, recoverySteps } from '../rows.js';
import { jobsWhere, liveNode, transitionJob } from './queue.js';
import type { PgDb, Sql } from './schema.js';

export async function registerNode(db: PgDb, node: string, session: string, info: { roles: readonly NodeRole[]; version: string; opsAddress?: string }): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO nodes (name, roles, version, ops_address, session, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp(), clock_timestamp())
       ON CONFLICT (name) DO UPDATE SET roles = excluded.roles, version = excluded.version, ops_address = excluded.ops_address,
         session = excluded.session, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
      [node, info.roles.join(','), info.version, info.opsAddress ?? null, session],
    );
    // Associations of this node's previous run ended with it.
    await tx.run('DELETE FROM series_deliveries WHERE node = $1', [node]);
  });
}

export async function heartbeat(sql: Sql, node: string, session: string): Promise<'alive' | 'unregistered' | 'name taken'> {
  const row = await sql.row<{ session: string }>(
    `UPDATE nodes SET heartbeat_at = CASE WHEN session = $2 THEN clock_timestamp() ELSE heartbeat_at END WHERE name = $1 RETURNING session`,
    [node, session],
  );
  return !row ? 'unregistered' : row.session === session ? 'alive' : 'name taken';
}

interface NodeRow {
  name: string;
  roles: string;
  version: string;
  ops_address: string | null;
  started_at: Date;
  heartbeat_at: Date;
  alive: boolean;
  jobs_in_hand: number;
}

export async function listNodes(sql: Sql, leaseSeconds: number): Promise<ClusterNode[]> {
  const rows = await sql.rows<NodeRow>(
    `SELECT n.*, n.heartbeat_at > now() - make_interval(secs => $1) AS alive,
       (SELECT count(*) FROM jobs j WHERE j.owner = n.name AND j.state IN ('processing', 'sending')) AS jobs_in_hand
     FROM nodes n ORDER BY n.name`,
    [leaseSeconds],
  );
  return rows.map((r) => ({
    name: r.name,
    roles: r.roles.split(',').filter(Boolean) as NodeRole[],
    version: r.version,
    opsAddress: r.ops_address,
    startedAt: r.started_at.toISOString(),
    heartbeatAt: r.heartbeat_at.toISOString(),
    alive: r.alive,
    jobsInHand: r.jobs_in_hand,
  }));
}

/** Jobs computed or sent by a node other than `$1` that is not alive (`$2`: the lease in seconds). */
const HELD_BY_DEAD = `state IN ('processing', 'sending') AND owner IS NOT NULL AND owner <> $1 AND NOT ${liveNode('owner', '$2')}`;

export async function jobsOfDeadNodes(sql: Sql, node: string, leaseSeconds: number): Promise<Job[]> {
  return jobsWhere(sql, HELD_BY_DEAD, [node, leaseSeconds]);
}

export async function takeOverDeadNodes(db: PgDb, node: string, leaseSeconds: number, maxInterruptions: number, canSend: (job: Job) => boolean, sends: boolean): Promise<Takeover> {
  return db.transaction(async (tx) => {
    // One taker at a time; the rows it takes are locked, and skipped by a claim meanwhile.
    await tx.run("SELECT pg_advisory_xact_lock(hashtext('brainstrip takeover'))");
    const held = await jobsWhere(tx, HELD_BY_DEAD, [node, leaseSeconds], 'ORDER BY id FOR UPDATE');
    const steps = recoverySteps(held, maxInterruptions, canSend, (job) => `the loss of node ${job.owner} (no heartbeat for ${leaseSeconds} s), taken over by ${node}`);
    const after: Job[] = [];
    for (const step of steps) after.push((await transitionJob(tx, step.job.id, step.name, step.change, node)) ?? step.job);
    const resending = steps.filter((step) => step.outcome === 'resending').map((step) => step.job.id);
    await tx.run('UPDATE jobs SET owner = $1 WHERE id = ANY($2::bigint[])', [sends ? node : null, resending]);
    await tx.run(`DELETE FROM series_deliveries d WHERE d.node <> $1 AND NOT ${liveNode('d.node', '$2')}`, [node, leaseSeconds]);
    return recoveryOutcome(steps, after);
  });
}

export async function noteDelivery(sql: Sql, node: string, jobId: number, association: number): Promise<void> {
  await sql.run('INSERT INTO series_deliveries (job_id, node, association) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [jobId, node, association]);
}

export async function endDelivery(sql: Sql, node: string, association: number): Promise<void> {
  await sql.run('DELETE FROM series_deliveries WHERE node = $1 AND association = $2', [node, association]);
}
