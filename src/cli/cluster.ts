// `brainstrip cluster import`: moves a single node's state into the PostgreSQL database of a cluster, so that the node's
// jobs (waiting, in progress, finished) go on in the cluster.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config/schema.js';
import { dataFolder } from '../data-folder.js';
import { ImportRefused, importJobState } from '../jobs/state/import/job-state.js';
import { importSharedState } from './import-shared-state.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip cluster import --config <cluster config> --from <node data folder> [--into-non-empty]

Copies the job state of a single node (its SQLite job database in <node data folder>: every job with its id, state
and timeline, the instances received, the series' destinations) into the PostgreSQL database of cluster.database,
with what each archive confirmed, the operations page's users and the audit log (not the sessions or pauses).
Stop the node first. Importing the same node again changes nothing. A cluster database that holds jobs already is
refused unless --into-non-empty is given, and then only when no job id collides. The node's files (spool, work,
results) are not moved: the cluster's dataDir must be that folder, or a copy of it on the shared storage.`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand('cluster', USAGE, argv, { from: { type: 'string' }, 'into-non-empty': { type: 'boolean', default: false } });
  if (typeof parsed === 'number') return parsed;
  const [action, ...rest] = parsed.positionals;
  if (action !== 'import' || rest.length > 0 || !parsed.values.from) {
    console.error(`brainstrip cluster: ${action === 'import' ? 'give the node data folder with --from' : 'the only action is import'}\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig({ file: parsed.values.config });
  if (!config.cluster.database) {
    console.error('brainstrip cluster import: the configuration has no cluster.database (the PostgreSQL URL of the cluster)');
    return 2;
  }
  // The node's layout, with the file names this configuration gives them.
  const node = dataFolder({ ...config, dataDir: parsed.values.from });
  if (!fs.existsSync(node.jobsDatabase)) {
    console.error(`brainstrip cluster import: no job database at ${node.jobsDatabase}`);
    return 1;
  }
  try {
    const moved = await importJobState(node.jobsDatabase, config.cluster.database, { intoNonEmpty: parsed.values['into-non-empty'] });
    const total = Object.values(moved.jobs).reduce((n, k) => n + k, 0);
    if (moved.alreadyImported) console.log(`brainstrip cluster import: the jobs of ${node.root} are in ${moved.database} already; nothing moved`);
    else {
      const states = Object.entries(moved.jobs).map(([state, n]) => `${n} ${state}`).join(', ');
      console.log(
        `brainstrip cluster import: moved ${total} job(s)${states ? ` (${states})` : ''} with ${moved.events} event(s), ${moved.instances} instance(s) ` +
          `and ${moved.seriesDestinations} series destination(s) from ${node.jobsDatabase} into ${moved.database}`,
      );
    }
    const state = await importSharedState(node, config.cluster.database);
    console.log(
      `brainstrip cluster import: added ${state.confirmations} archive confirmation(s), ${state.users} user(s) and ${state.auditEntries} audit entr(ies)` +
        (state.pausesNotMoved.length ? `; the node had paused ${state.pausesNotMoved.join(', ')}: pause again on the Nodes page if the cluster should be` : ''),
    );
    if (path.resolve(config.dataDir) !== node.root) {
      console.log(`the node's spool, work and results folders stay in ${node.root}: copy them to the cluster's dataDir ${path.resolve(config.dataDir)} before the nodes start`);
    }
    console.log(JSON.stringify({ from: node.root, ...moved, sharedState: state }));
    return 0;
  } catch (error) {
    console.error(`brainstrip cluster import: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof ImportRefused ? 3 : 1;
  }
}
