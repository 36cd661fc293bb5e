// The cluster set-up of the tests and the bench: `brainstrip serve` nodes under names of their own on one shared
// data folder and one PostgreSQL database, sending to one Orthanc; and a modality that delivers a series the way a
// PACS behind a load balancer does — one association to one node, and whatever was not acknowledged sent again on a
// new association to the next node — keeping the list of what each node acknowledged.
import fs from 'node:fs';
import pg from 'pg';
import { type Node, type Orthanc, startNode } from '../bench/harness/peers.js';
import { clusterSection } from '../config/sections/cluster.js';
import { DimseStatus } from '../src/dicom/status.js';
import { readFileMeta } from '../src/scp/part10.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection } from './scp/raw-scu.js';

export interface ClusterSite {
  /** The data folder every node shares. */
  dataDir: string;
  database: string;
  archive: Orthanc;
  /** Cluster timing: heartbeat and lease of a node, in seconds. */
  heartbeatSeconds: number;
  leaseSeconds: number;
}

/** The cluster keys the configuration knows, of those given (timings the schema does not have are left out). */
function clusterKeys(site: ClusterSite, name: string, roles?: string[]): Record<string, unknown> {
  const wanted: Record<string, unknown> = {
    database: site.database,
    nodeName: name,
    roles,
    heartbeatSeconds: site.heartbeatSeconds,
    leaseSeconds: site.leaseSeconds,
  };
  return Object.fromEntries(Object.entries(wanted).filter(([key, value]) => value !== undefined && key in clusterSection));
}

/** One node of the cluster, started with the site's settings under `name` (a restart uses the same name). */
export function startClusterNode(site: ClusterSite, name: string, extra: Record<string, unknown> = {}): Promise<Node> {
  const destinations = [{ aeTitle: site.archive.aeTitle, host: '127.0.0.1', port: site.archive.dicomPort }];
  return startNode(
    { destinations, retry: { initialDelayMs: 500, maxDelayMs: 1000 } },
    {
      dataDir: site.dataDir,
      cluster: clusterKeys(site, name, extra.roles as string[] | undefined),
      receive: { seriesIdleSeconds: 1, completionGraceSeconds: 0 },
      ...Object.fromEntries(Object.entries(extra).filter(([key]) => key !== 'roles')),
    },
  );
}

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

  async jobs(): Promise<Array<{ id: number; series: string; state: string; stage: string | null; owner: string | null; instances: number }>> {
    const hasOwner = (await this.pool.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'jobs' AND column_name = 'owner'")).rowCount;
    const { rows } = await this.pool.query(
      `SELECT id::int, series_instance_uid AS series, state, stage, ${hasOwner ? 'owner' : 'NULL AS owner'}, instances FROM jobs ORDER BY id`,
    );
    return rows;
  }

  /** The jobs, or undefined while the database cannot be read. */
  async tryJobs() {
    return this.jobs().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
