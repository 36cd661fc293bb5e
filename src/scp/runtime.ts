// What every association of one SCP shares: its settings, the node's services, the counters of open associations
// and connections, the metrics, and the instances spooled but not yet recorded in the job store.
import { logger } from '../log.js';
import type { Job } from '../jobs/state/job.js';
import type { JobStore, RecordedInstance } from '../jobs/state/store.js';
import type { MetricsRegistry } from '../metrics.js';
import type { RoutingConfig } from './routing.js';
import type { SeriesCompletion } from './series-completion.js';
import type { Spool } from './spool.js';

export interface ScpOptions {
  aeTitle: string;
  port: number;
  /** Address to listen on; empty or absent: every interface. */
  host?: string;
  /** "AE" or "AE@host"; empty: anyone. */
  allowedCallers: string[];
  maxAssociations: number;
  maxPduLength: number;
  timeoutMs: number;
  routing: RoutingConfig;
  /** A connection that has not sent a complete A-ASSOCIATE-RQ after this long is closed (ARTIM, PS3.8 9.1.5). */
  artimMs?: number;
  /** Connections still negotiating (no association yet) held at once; more are closed at once. */
  maxPendingConnections?: number;
  /** Refused instances kept in the error area at most. */
  maxErrorFiles?: number;
  /** Listen with TLS (PEM contents). */
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer; requireClientCert: boolean };
  /** While it answers true, new associations are refused as transient: senders keep their series and retry. */
  intakePaused?: () => boolean;
  /**
   * An instance the job store cannot record is answered Out of Resources instead of acknowledged and recorded later
   * (a cluster: the other nodes know of an instance only from the shared index).
   */
  indexRequired?: boolean;
}

export interface ScpDependencies {
  spool: Spool;
  store: JobStore;
  completion: SeriesCompletion;
  metrics: MetricsRegistry;
  /** Why the spool cannot take instances now (disk nearly full), as last probed; undefined when it can. */
  spoolProblem?: () => string | undefined;
  /** A job computing a series without a late instance was failed as superseded: its computation can stop. */
  superseded?: (job: Job) => void;
}

export type ReceivedInstance = Parameters<JobStore['recordInstance']>[0];

export class ScpRuntime {
  active = 0;
  pendingConnections = 0;
  /** Spooled and acknowledged instances the job store could not record yet. */
  readonly unrecorded = new Map<string, ReceivedInstance>();
  readonly log = logger('scp');
  readonly metrics;
  private associations = 0;
  private retrying = false;

  constructor(
    readonly options: ScpOptions,
    readonly deps: ScpDependencies,
  ) {
    this.metrics = {
      associations: deps.metrics.counter('brainstrip_associations_total', 'Association requests by result (accepted, rejected) and reason', ['result', 'reason']),
      instances: deps.metrics.counter('brainstrip_instances_received_total', 'Instances stored and acknowledged, by whether they were routed to a job', ['routed']),
      bytes: deps.metrics.counter('brainstrip_received_bytes_total', 'Dataset bytes of acknowledged instances'),
      failures: deps.metrics.counter('brainstrip_store_failures_total', 'C-STORE requests answered with a failure status, by reason', ['reason']),
      echoes: deps.metrics.counter('brainstrip_echo_total', 'C-ECHO requests answered'),
    };
    deps.metrics.gauge('brainstrip_instances_unrecorded', 'Spooled instances waiting to be recorded in the job store', () => this.unrecorded.size);
    deps.metrics.gauge('brainstrip_associations_active', 'Associations open now', () => this.active);
  }

  /** What follows the recording of an instance: its series' completion, or the stop of a job it supersedes. */
  recorded(recorded: RecordedInstance, associationId: number | undefined): void {
    if (recorded.superseded) this.deps.superseded?.(recorded.superseded);
    // A job that already has results does not gather instances any more.
    if (!recorded.late) this.deps.completion.instanceArrived(recorded.job, associationId);
  }

  nextAssociationId(): number {
    return ++this.associations;
  }

  /** Records the instances the job store refused earlier; stops at the first that still fails. One pass at a time. */
  async retryUnrecorded(): Promise<void> {
    if (this.retrying) return;
    this.retrying = true;
    try {
      for (const [key, instance] of this.unrecorded) {
        const recorded = await this.deps.store.recordInstance(instance);
        const { job } = recorded;
        this.unrecorded.delete(key);
        this.recorded(recorded, undefined);
        this.log.info('spooled instance recorded in the job store after all', { jobId: job.id, seriesInstanceUid: instance.seriesInstanceUid, sopInstanceUid: instance.sopInstanceUid });
      }
    } catch {
      // still failing: try again at the next tick
    } finally {
      this.retrying = false;
    }
  }
}
