// What every part of the operations page shares: the node's services, the facts read about jobs, the self-test
// runs, the last C-ECHO per destination, and the spool's size.
import fs from 'node:fs';
import path from 'node:path';
import type { BrainstripConfig } from '../../config/schema.js';
import { dataFolder } from '../data-folder.js';
import type { NodeControls } from '../jobs/controls.js';
import type { Interruption } from '../jobs/runner.js';
import type { JobStore } from '../jobs/state/store.js';
import type { Job } from '../jobs/state/job.js';
import type { ClusterNode } from '../jobs/state/nodes.js';
import type { PrecisionChoice } from '../pipeline/segmentation/precision-choice.js';
import type { DestinationHealth } from '../scu/destination-health.js';
import { type DeliveryLedger, StoredLedger } from '../scu/ledger.js';
import type { Accounts } from './accounts.js';
import type { FactsDeps } from './job-facts.js';
import { SelfTests } from './self-test.js';

export interface RunnerControl {
  readonly active: number;
  readonly concurrency: number;
  isRunning(id: number): boolean;
  interrupt(id: number, how: Interruption): boolean;
  /** A finished job again: to the send queue when its results are on disk, else to the queue. */
  retry(id: number, detail: string): Promise<'sending' | 'queued' | undefined>;
  wake(): void;
}

/** The cluster this node is one of, as the page shows it. */
export interface ClusterView {
  /** This node's name. */
  readonly node: string;
  nodes(): Promise<ClusterNode[]>;
}

export interface WebDeps {
  config: BrainstripConfig;
  configFile?: string;
  store: JobStore;
  accounts: Accounts;
  controls: NodeControls;
  runner: RunnerControl;
  instancePaths(job: Job): Promise<string[]>;
  spoolRoot: string;
  dicomPort(): number;
  /** How each archive has answered lately (absent: the page shows the ledger and failed jobs only). */
  destinationHealth?: DestinationHealth;
  /** The cluster this node is one of (absent: a single node). */
  cluster?: ClusterView;
  /** What each archive confirmed (default: the data folder's ledger). */
  ledger?: DeliveryLedger;
  /** The model that runs (http.ts's BuildInfo, kept current: under 'auto' the precision is chosen after start). */
  build?: { model: string; precision: string; precisionChoice?: PrecisionChoice };
}

export interface EchoResult {
  at: string;
  by: string;
  ok: boolean;
  description: string;
  milliseconds: number;
}

export interface SpoolUsage {
  at: number;
  bytes: number;
  files: number;
  free: number;
  size: number;
}

export interface WebContext extends WebDeps {
  facts: FactsDeps;
  selfTests: SelfTests;
  /** The last C-ECHO of each destination, by destination key. */
  echoResults: Map<string, EchoResult>;
  spoolUsage(): Promise<SpoolUsage>;
}

export function createWebContext(deps: WebDeps): WebContext {
  const { config, store } = deps;
  const folder = dataFolder(config);
  // Walking the spool is not free; once every half minute is enough for a dashboard.
  let spoolUse: SpoolUsage | undefined;
  const spoolUsage = async () => {
    if (spoolUse && Date.now() - spoolUse.at < 30_000) return spoolUse;
    let total = 0;
    let files = 0;
    const walk = async (dir: string) => {
      for (const entry of await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) {
          files++;
          total += (await fs.promises.stat(full).catch(() => ({ size: 0 }))).size;
        }
      }
    };
    await walk(deps.spoolRoot);
    const stat = await fs.promises.statfs(fs.existsSync(deps.spoolRoot) ? deps.spoolRoot : folder.root);
    spoolUse = { at: Date.now(), bytes: total, files, free: stat.bavail * stat.bsize, size: stat.blocks * stat.bsize };
    return spoolUse;
  };
  return {
    ...deps,
    facts: {
      store,
      folder,
      destinations: config.results.destinations,
      ledger: deps.ledger ?? new StoredLedger(folder.storedLedger),
      instancePaths: deps.instancePaths,
    },
    selfTests: new SelfTests({
      store,
      workRoot: folder.work,
      aeTitle: config.receive.aeTitle,
      dicomPort: deps.dicomPort,
      callingAeTitle: config.ops.selfTestCallingAe,
      scpTls: config.tls.scpEnabled,
      echoCallingAe: config.results.callingAeTitle,
    }),
    echoResults: new Map(),
    spoolUsage,
  };
}
