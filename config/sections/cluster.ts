// Cluster mode: several nodes sharing one PostgreSQL database and one data folder. Empty `database` (the default)
// keeps everything in dataDir (SQLite and files), as a single node always did.
import os from 'node:os';

/** The host name, cut to what a node name may be. */
function hostNodeName(): string {
  const name = os.hostname().split('.')[0].replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63);
  return /^[A-Za-z0-9]/.test(name) ? name : `node-${name}`.slice(0, 63);
}

export const clusterSection = {
  database: {
    doc:
      'PostgreSQL URL of the state shared by the nodes of a cluster: jobs, delivery ledger, pauses, users and audit ' +
      '(postgresql://user:password@host:5432/brainstrip); empty: all of it in dataDir (a single node)',
    format: 'optional-postgres-url',
    default: '',
    env: 'BRAINSTRIP_CLUSTER_DATABASE',
    // The URL carries the database password.
    sensitive: true,
  },
  nodeName: {
    doc: "This node's name among the nodes of a cluster (default: the host name)",
    format: 'node-name',
    default: hostNodeName(),
    env: 'BRAINSTRIP_CLUSTER_NODE_NAME',
  },
  roles: {
    doc: 'What this node does in a cluster: receive (opens the DICOM port), process (computes queued series), send (delivers results)',
    format: 'node-roles',
    default: ['receive', 'process', 'send'],
    env: 'BRAINSTRIP_CLUSTER_ROLES',
  },
  heartbeatSeconds: {
    doc: 'How often the node tells the cluster it is alive',
    format: 'positive-duration',
    default: 5,
    env: 'BRAINSTRIP_CLUSTER_HEARTBEAT_S',
  },
  leaseSeconds: {
    doc: "A node silent for this long is dead: the other nodes take its jobs over (processing ones are computed again, sending ones resume)",
    format: 'positive-duration',
    default: 30,
    env: 'BRAINSTRIP_CLUSTER_LEASE_S',
  },
};
