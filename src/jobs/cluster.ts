// This node's membership of a cluster: it registers at start, says it is alive every heartbeat, and at each
// heartbeat takes over the jobs of nodes that stopped saying so (computing ones go back to the queue, sending ones
// resume from their results on the shared data folder). A query the database cannot answer (a restart of the
// server) is logged and tried again at the next beat; the node goes on.
import { type Logger, logger } from '../log.js';
import type { Job } from './state/job.js';
import type { ClusterNode, ClusterStore, NodeRole } from './state/nodes.js';

export interface MembershipOptions {
  roles: readonly NodeRole[];
  version: string;
  opsAddress?: string;
  heartbeatMs: number;
  /** A node silent for this long is dead. */
  leaseMs: number;
  /** jobs.maxInterruptions: a job taken over this many times while computing fails as poison. */
  maxInterruptions: number;
  /** Whether a job's results are complete on the shared data folder. */
  hasResults(job: Job): Promise<boolean>;
  /** Jobs were taken over: the runner looks at the queues. */
  onTakeover(): void;
  /** The jobs this node computes or sends now. */
  running(): number[];
  /** Stops running jobs another node took over or ended (their moves would be refused anyway). */
  abandon(jobIds: number[]): void;
}

export class ClusterMembership {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** Since when the database has answered every heartbeat (undefined: the last one failed). */
  private connectedSince: number | undefined;
  private housekeeper = false;
  private readonly log: Logger = logger('jobs.cluster');

  constructor(
    private readonly store: ClusterStore,
    private readonly options: MembershipOptions,
  ) {}

  get node(): string {
    return this.store.node;
  }

  get roles(): readonly NodeRole[] {
    return this.options.roles;
  }

  /** Registers the node (before it takes any job) and starts the heartbeat. */
  async start(): Promise<void> {
    await this.store.registerNode(this.options);
    this.connectedSince = Date.now();
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /** Stops the heartbeat; called once the runner stopped, it hands the jobs this node was sending to the others. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.store.leave().catch((error: Error) => this.log.warn(`cannot hand this node's sending jobs over (taken over after the lease): ${error.message}`));
  }

  /** Tells the cluster where this node's operations page answers (host:port); kept when it registers again. */
  async advertise(opsAddress: string): Promise<void> {
    this.options.opsAddress = opsAddress;
    await this.store.advertise(opsAddress).catch((error: Error) => this.log.warn(`cannot record the operations address: ${error.message}`));
  }

  /** Every node the cluster has seen: name, roles, version, heartbeat, alive, jobs in hand. */
  nodes(): Promise<ClusterNode[]> {
    return this.store.nodes();
  }

  /**
   * Whether this node does the cluster's periodic clean-up (retention): the live node first by name, so that the
   * nodes do not all remove the same files at once. Decided at each heartbeat.
   */
  isHousekeeper(): boolean {
    return this.housekeeper;
  }

  /** One heartbeat, then the takeover of dead nodes' jobs; never two at once, never throws. */
  beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    try {
      const heard = await this.store.heartbeat();
      if (heard === 'unregistered') {
        this.log.warn(`node ${this.node} was not registered any more: registering again`);
        await this.store.registerNode(this.options);
      } else if (heard === 'name taken') {
        // Both would take each other's jobs for their own: the operator must name them apart.
        this.log.error(`another process registered as node ${this.node}: give each node its own cluster.nodeName (this one stops saying it is alive)`);
        return;
      }
      if (this.connectedSince === undefined) {
        this.log.info('the cluster database answers again');
        this.connectedSince = Date.now();
      }
    } catch (error) {
      if (this.connectedSince !== undefined) this.log.error(`heartbeat failed (retried every ${this.options.heartbeatMs / 1000} s): ${(error as Error).message}`);
      this.connectedSince = undefined;
      return;
    }
    try {
      await this.endUnended();
      await this.ownJobs();
      const nodes = await this.store.nodes();
      this.housekeeper = nodes.find((n) => n.alive)?.name === this.node;
      // After the database was away, every node's heartbeat looks old: the others are judged only once this node
      // has been heard for a whole lease, by which time every live node has been heard again too.
      if (Date.now() - this.connectedSince < this.options.leaseMs) return;
      await this.takeOver();
    } catch (error) {
      this.log.error(`cannot look after the cluster's nodes (retried at the next heartbeat): ${(error as Error).message}`);
    }
  }

  /**
   * Makes what this node runs and what it holds in the database agree: jobs another node took over (this node was
   * silent for a lease: a stall, a cut network) are abandoned; jobs it holds but no longer runs (their end could not
   * be recorded while the database was away) are recovered, as at a restart.
   */
  private async ownJobs(): Promise<void> {
    const running = this.options.running();
    const lost = running.length > 0 ? await this.store.lostJobs(running) : [];
    if (lost.length > 0) {
      this.log.warn(`jobs ${lost.join(', ')} were taken over by another node, or ended there: stopped here`);
      this.options.abandon(lost);
    }
    const { requeued, resending } = await this.store.recoverOrphans(running, 2 * this.options.heartbeatMs, (job) => this.options.hasResults(job));
    for (const job of [...requeued, ...resending]) {
      this.log.warn(`job ${job.id} was left unfinished (its end could not be recorded): ${job.detail}`, { jobId: job.id, seriesInstanceUid: job.seriesInstanceUid });
    }
    if (requeued.length + resending.length > 0) this.options.onTakeover();
  }

  private async takeOver(): Promise<void> {
    const held = await this.store.jobsOfDeadNodes();
    if (held.length === 0) return;
    const canSend = new Set<number>();
    for (const job of held) if (job.state === 'sending' && (await this.options.hasResults(job))) canSend.add(job.id);
    const { requeued, resending, poisoned } = await this.store.takeOverDeadNodes(this.options.maxInterruptions, (job) => canSend.has(job.id), this.options.roles.includes('send'));
    for (const job of [...requeued, ...resending, ...poisoned]) {
      const ids = { jobId: job.id, studyInstanceUid: job.studyInstanceUid, seriesInstanceUid: job.seriesInstanceUid };
      if (poisoned.includes(job)) this.log.error(`job of a dead node failed: ${job.reason}`, ids);
      else this.log.warn(`job of a dead node taken over: ${job.detail}`, ids);
    }
    if (requeued.length + resending.length > 0) this.options.onTakeover();
  }

  // The deliveries of this node's associations, which hold a series open cluster-wide (SeriesCompletion's shared rules).
  private readonly deliveries = new Map<number, Promise<void>>();

  /** This node's association delivers the series of job `jobId`; recorded in order with its end. */
  delivering(jobId: number, association: number): void {
    this.chain(association, () => this.store.noteDelivery(jobId, association));
  }

  /** The association ended: once its deliveries are recorded, they are removed. */
  ended(association: number): void {
    this.chain(association, () => this.store.endDelivery(association), true);
  }

  private chain(association: number, write: () => Promise<void>, last = false): void {
    const next = (this.deliveries.get(association) ?? Promise.resolve()).then(write).catch((error: Error) => {
      this.log.warn(`cannot record association ${association}'s delivery in the cluster database: ${error.message}`);
      // An end not recorded would hold the series open for as long as this node lives: tried again at each beat.
      if (last) this.unended.add(association);
    });
    this.deliveries.set(association, next);
    if (last) void next.finally(() => this.deliveries.get(association) === next && this.deliveries.delete(association));
  }

  /** Associations whose end the database did not take yet. */
  private readonly unended = new Set<number>();

  private async endUnended(): Promise<void> {
    for (const association of [...this.unended]) {
      await this.store.endDelivery(association);
      this.unended.delete(association);
    }
  }

  /** Queues the series idle since `idleBefore` that no live node is delivering. */
  completeIdle(idleBefore: Date): Promise<Job[]> {
    return this.store.completeIdle(idleBefore);
  }
}
