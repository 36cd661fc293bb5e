// The nodes of a cluster as the cluster test and the cluster bench start them: `brainstrip serve` under a name of
// its own, on one shared data folder and one PostgreSQL database, sending to one Orthanc.
import { clusterSection } from '../../config/sections/cluster.js';
import { type Node, type Orthanc, startNode } from './peers.js';

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
      // A series that its headers prove whole completes at its association's release; one that is not, after 10 s
      // idle: longer than the database is away when the cluster test restarts it (instances refused meanwhile).
      receive: { seriesIdleSeconds: 10 },
      ...Object.fromEntries(Object.entries(extra).filter(([key]) => key !== 'roles')),
    },
  );
}
