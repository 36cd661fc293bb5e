// The nodes of a cluster as the job state sees them: each registers, says it is alive every few seconds (its
// heartbeat) and holds the jobs it computes or sends; a node silent for longer than the lease is dead, and a live
// node takes its jobs over. A store on a database the nodes share implements ClusterStore (./postgres).
import type { Job } from './job.js';

export type NodeRole = 'receive' | 'process' | 'send';

/** One node of the cluster, as the operations page lists it. */
export interface ClusterNode {
  name: string;
  roles: NodeRole[];
  /** The brainstrip version it runs. */
  version: string;
  /** Where its operations page answers (host:port), when it said. */
  opsAddress: string | null;
  startedAt: string;
  heartbeatAt: string;
  /** Its last heartbeat is younger than the lease. */
  alive: boolean;
  /** Jobs it computes or sends now (those it owns). */
  jobsInHand: number;
}

/** What a takeover did: the jobs of dead nodes, by what became of them. */
export interface Takeover {
  requeued: Job[];
  resending: Job[];
  poisoned: Job[];
}

export interface ClusterStore {
  /** This node's name (every change it makes names it). */
  readonly node: string;
  /** Registers this node (again, after a restart): its roles and version; its associations of before are forgotten. */
  registerNode(info: { roles: readonly NodeRole[]; version: string; opsAddress?: string }): Promise<void>;
  /** Where this node's operations page answers (host:port), once it does. */
  advertise(opsAddress: string): Promise<void>;
  /**
   * Says this node is alive: 'unregistered' when its row was gone (it registers again); 'name taken' when another
   * process registered under this node's name since (two nodes configured with one name).
   */
  heartbeat(): Promise<'alive' | 'unregistered' | 'name taken'>;
  /** This node stops: the jobs it was sending wait for any node with the send role (its computing ones were queued). */
  leave(): Promise<void>;
  /** Every node the cluster has seen, by name. */
  nodes(): Promise<ClusterNode[]>;
  /** The jobs dead nodes hold (computing or sending), oldest first. */
  jobsOfDeadNodes(): Promise<Job[]>;
  /**
   * Takes over the jobs of dead nodes in one transaction (those still held by a dead node): sending ones with
   * results on disk (`canSend`) resume sending, owned by this node when it sends (`sends`); the others go back to the
   * queue, counting an interruption (poison after `maxInterruptions`).
   */
  takeOverDeadNodes(maxInterruptions: number, canSend: (job: Job) => boolean, sends: boolean): Promise<Takeover>;
  /**
   * Jobs this node holds but does not run (`running`: those it runs), untouched for `quietMs`: their end could not be
   * recorded. They are sent again (results on disk) or queued again, never failed as poison.
   */
  recoverOrphans(running: number[], quietMs: number, canSend: (job: Job) => Promise<boolean>): Promise<Takeover>;
  /**
   * Of the jobs this node runs, those it must stop: another node holds them now (it took them over while this node
   * was silent), or they ended elsewhere (superseded by a late instance on another node, cancelled on its page).
   */
  lostJobs(running: number[]): Promise<number[]>;
  /** This node's association `association` is delivering the series of job `jobId`. */
  noteDelivery(jobId: number, association: number): Promise<void>;
  /** This node's association `association` ended. */
  endDelivery(association: number): Promise<void>;
  /** Queues every series idle since `idleBefore` that no association of a live node is delivering; those jobs. */
  completeIdle(idleBefore: Date): Promise<Job[]>;
}
