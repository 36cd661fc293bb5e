// What the cluster tests add to the nodes of bench/harness/cluster.ts: a modality that delivers a series the way a
// PACS behind a load balancer does — one association to one node, and whatever was not acknowledged sent again on a
// new association to the next node — keeping the list of what each node acknowledged.
import fs from 'node:fs';
import pg from 'pg';
import { DimseStatus } from '../src/dicom/status.js';
import { readFileMeta } from '../src/scp/part10.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection } from './scp/raw-scu.js';

export { type ClusterSite, startClusterNode } from '../bench/harness/cluster.js';

export interface InstanceToSend {
  sopInstanceUid: string;
  /** The dataset after the File Meta Information, in the file's transfer syntax (explicit VR little endian). */
  dataset: Buffer;
}

/** The instances of a synthetic series (explicit VR little endian MR images), ready to send. */
export function instancesOf(paths: string[]): InstanceToSend[] {
  return paths.map((file) => {
    const bytes = fs.readFileSync(file);
    const meta = readFileMeta(bytes);
    return { sopInstanceUid: meta.sopInstanceUid, dataset: bytes.subarray(meta.datasetOffset) };
  });
}

export interface Delivery {
  /** SOP Instance UIDs answered Success, each once. */
  acknowledged: Set<string>;
  /** Each association that stored something: the port it went to and how many instances it had acknowledged. */
  associations: Array<{ port: number; acknowledged: number }>;
}

/**
 * Delivers every instance: to `target(0)` first, then after a failed association (the node died, refused, or did
 * not answer Success) the rest to `target(1)`, and so on, until each instance is acknowledged or `timeoutMs` passed.
 * `afterAcknowledged` runs after each Success, the association still open (a test may kill the node there).
 */
export async function deliverSeries(
  instances: InstanceToSend[],
  target: (attempt: number) => number | undefined,
  options: { paceMs?: number; timeoutMs?: number; afterAcknowledged?: (count: number, port: number) => Promise<void> | void } = {},
): Promise<Delivery> {
  const delivery: Delivery = { acknowledged: new Set(), associations: [] };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (let attempt = 0; delivery.acknowledged.size < instances.length; attempt++) {
    if (Date.now() > deadline) throw new Error(`${instances.length - delivery.acknowledged.size} instance(s) not acknowledged after ${attempt} associations`);
    if (attempt > 0) await new Promise((r) => setTimeout(r, 300));
    const port = target(attempt);
    if (port === undefined) continue;
    const connection = await RawConnection.connect(port).catch(() => undefined);
    if (!connection) continue;
    try {
      if ((await connection.associate([{ abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] }], 'BRAINSTRIP', 'PACS')) !== 'accepted') continue;
      let stored = 0;
      for (const instance of instances.filter((i) => !delivery.acknowledged.has(i.sopInstanceUid))) {
        const answer = await connection.store(instance.dataset, { sopClassUid: MR_STORAGE, sopInstanceUid: instance.sopInstanceUid });
        if (typeof answer !== 'object') break;
        // An instance refused (out of resources while the database is away) is sent again on the next association.
        if (answer.status !== DimseStatus.Success) continue;
        delivery.acknowledged.add(instance.sopInstanceUid);
        stored++;
        await options.afterAcknowledged?.(delivery.acknowledged.size, port);
        if (options.paceMs) await new Promise((r) => setTimeout(r, options.paceMs));
      }
      if (stored > 0) delivery.associations.push({ port, acknowledged: stored });
      if (!connection.closed) await connection.release();
    } finally {
      connection.destroy();
    }
  }
  return delivery;
}

/** The jobs table as the test reads it: straight from the cluster's database (reconnecting after a restart). */
export class ClusterDatabase {
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 2 });
    this.pool.on('error', () => undefined);
  }

  async jobs(): Promise<Array<{ id: number; series: string; state: string; stage: string | null; owner: string | null; instances: number; reason: string | null }>> {
    const { rows } = await this.pool.query('SELECT id::int, series_instance_uid AS series, state, stage, owner, instances, reason FROM jobs ORDER BY id');
    return rows;
  }

  /** The newest event of a job (0: none). */
  async lastEventId(jobId: number): Promise<number> {
    return Number((await this.pool.query('SELECT coalesce(max(id), 0) AS id FROM job_events WHERE job_id = $1', [jobId])).rows[0].id);
  }

  /** Whether a node other than `from` changed the job after event `afterEventId`. */
  async changedByAnother(jobId: number, from: string, afterEventId: number): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM job_events WHERE job_id = $1 AND id > $2 AND node IS NOT NULL AND node <> $3 LIMIT 1', [jobId, afterEventId, from]);
    return (rowCount ?? 0) > 0;
  }

  /** The jobs, or undefined while the database cannot be read. */
  async tryJobs() {
    return this.jobs().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
