// The layout of the node's data folder (dataDir): every path under it is named here and nowhere else, so that the
// node, its processing and the operations page agree on where things are.
import path from 'node:path';

/** What the layout depends on in the configuration (paths relative to dataDir). */
export interface DataFolderConfig {
  dataDir: string;
  receive: { spoolDir: string };
  jobs: { database: string };
  ops: { database: string };
  log: { file: string };
}

export interface DataFolder {
  /** dataDir, absolute. */
  readonly root: string;
  /** Received instances, exactly as received (receive.spoolDir). */
  readonly spool: string;
  /** The job store (jobs.database). */
  readonly jobsDatabase: string;
  /** Users, sessions and the audit log of the operations page (ops.database). */
  readonly opsDatabase: string;
  /** The node's log file (log.file), if it writes one. */
  readonly logFile: string | undefined;
  /** Operator pauses, kept across restarts. */
  readonly pauses: string;
  /** Which objects each archive confirmed (the stored ledger). */
  readonly storedLedger: string;
  /** Where results are found by the instances they were computed from. */
  readonly resultIndex: string;
  /** Per-job work folders, and the self-test's. */
  readonly work: string;
  /** The work folder of one job. */
  jobWorkDir(jobId: number): string;
}

/** The results a job computed, inside its work folder. */
export function resultsDirOf(jobWorkDir: string): string {
  return path.join(jobWorkDir, 'results');
}

export function dataFolder(config: DataFolderConfig): DataFolder {
  const root = path.resolve(config.dataDir);
  const work = path.join(root, 'work');
  return {
    root,
    spool: path.resolve(root, config.receive.spoolDir),
    jobsDatabase: path.resolve(root, config.jobs.database),
    opsDatabase: path.resolve(root, config.ops.database),
    logFile: config.log.file ? path.resolve(root, config.log.file) : undefined,
    pauses: path.join(root, 'paused.json'),
    storedLedger: path.join(root, 'results', 'stored'),
    resultIndex: path.join(root, 'results', 'index'),
    work,
    jobWorkDir: (jobId) => path.join(work, String(jobId)),
  };
}
