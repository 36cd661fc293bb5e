// The job store on PostgreSQL, for several nodes sharing their job state (cluster mode). It keeps what the SQLite
// store keeps, with the same transitions and decisions (../rows.ts holds what both share); every read-then-write
// decision is one transaction or one statement, and row locks keep two nodes from taking the same job. A committed
// transaction is durable in the server's write-ahead log; a query while the server is away rejects, and the next one
// reconnects.
import { randomUUID } from 'node:crypto';
import type { Job, JobState } from '../job.js';
import { boundedLimit, now } from '../rows.js';
import { type JobEvent, type JobFilter, type JobIdentification, type JobStore, MAX_LIST_LIMIT, type ReceivedInstance, type RecordedInstance } from '../store.js';
import type { TransitionChange, TransitionName } from '../transitions.js';
import type { ClusterNode, ClusterStore, NodeRole, Takeover } from '../nodes.js';
import { claimNextJob, completeIdleSeries, recoverOrphans, countJobsByState, jobById, jobEvents, jobsWhere, markJobComplete, nextJobToSend, recoverJobs, transitionJob } from './queue.js';
import { endDelivery, heartbeat, jobsOfDeadNodes, listNodes, noteDelivery, registerNode, takeOverDeadNodes } from './nodes.js';
import { finishedJobsBefore, purgeDeliveredJobs, recordInstanceOfFinishedJob, recordSeriesInstance } from './registry.js';
import { PG_JOB_SCHEMA, type PgDb, connect, displayUrl, migratePgSchema } from './schema.js';
import { jobActivity, searchJobs } from './search.js';

/** The transitions of a job a node computes or sends: refused once another node took the job over. */
const HELD_TRANSITIONS: ReadonlySet<TransitionName> = new Set(['step', 'resultsReady', 'sendProgress', 'delivered', 'hold', 'fail', 'requeue']);

export interface PostgresStoreOptions {
  maxConnections?: number;
  /** This node's name: it owns the jobs it claims, and the events of its changes name it. */
  node?: string;
  /** A node whose heartbeat is older than this is dead (cluster.leaseSeconds). */
  leaseSeconds?: number;
}

export class PostgresJobStore implements JobStore, ClusterStore {
  private constructor(
    private readonly db: PgDb,
    /** The database, its password masked. */
    readonly name: string,
    readonly node: string,
    private readonly leaseSeconds: number,
  ) {}

  /** Connects to the database at `url` and brings its schema up to date (refusing one written by a newer release). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresJobStore> {
    const node = options.node ?? 'node';
    const db = connect(url, options.maxConnections, node);
    const name = `the job database ${displayUrl(url)}`;
    try {
      await migratePgSchema(db, name, PG_JOB_SCHEMA);
    } catch (err) {
      await db.end();
      throw err;
    }
    return new PostgresJobStore(db, name, node, options.leaseSeconds ?? 30);
  }

  get = (id: number): Promise<Job | undefined> => jobById(this.db, id);
  countsByState = (): Promise<Record<JobState, number>> => countJobsByState(this.db);
  markComplete = (id: number): Promise<Job | undefined> => markJobComplete(this.db, id, this.node, this.leaseSeconds);
  claimNext = (): Promise<Job | undefined> => claimNextJob(this.db, this.node);
  nextToSend = (busy: number[]): Promise<Job | undefined> => nextJobToSend(this.db, this.node, busy);
  events = (id: number): Promise<JobEvent[]> => jobEvents(this.db, id);
  recordInstance = (instance: ReceivedInstance): Promise<RecordedInstance> => recordSeriesInstance(this.db, instance);
  recordProcessedInstance = (jobId: number, instance: ReceivedInstance): Promise<void> => recordInstanceOfFinishedJob(this.db, jobId, instance);
  finishedBefore = (before: Date): Promise<Job[]> => finishedJobsBefore(this.db, before);
  purgeDeliveredBefore = (before: Date): Promise<Job[]> => purgeDeliveredJobs(this.db, before);
  search = (filter: JobFilter): Promise<Job[]> => searchJobs(this.db, filter);
  activity = (since: Date) => jobActivity(this.db, since);

  async list(options: { state?: JobState; seriesInstanceUid?: string; limit?: number } = {}): Promise<Job[]> {
    const limit = boundedLimit(options.limit, 1000, MAX_LIST_LIMIT);
    const where = ['($1::text IS NULL OR state = $1)', '($2::text IS NULL OR series_instance_uid = $2)'].join(' AND ');
    return jobsWhere(this.db, where, [options.state ?? null, options.seriesInstanceUid ?? null, limit], 'ORDER BY id DESC LIMIT $3');
  }

  async transition(id: number, name: TransitionName, change?: TransitionChange): Promise<boolean> {
    return (await transitionJob(this.db, id, name, change, this.node, HELD_TRANSITIONS.has(name))) !== undefined;
  }

  async recoverAfterRestart(maxInterruptions = 0, canSend: (job: Job) => boolean = () => false) {
    return recoverJobs(this.db, this.node, maxInterruptions, canSend);
  }

  // The cluster (ClusterStore).
  registerNode = (info: { roles: readonly NodeRole[]; version: string; opsAddress?: string }): Promise<void> => registerNode(this.db, this.node, this.session, info);
  /** This process among those that ever registered under the node's name. */
  private readonly session = randomUUID();
  heartbeat = () => heartbeat(this.db, this.node, this.session);
  nodes = (): Promise<ClusterNode[]> => listNodes(this.db, this.leaseSeconds);
  jobsOfDeadNodes = (): Promise<Job[]> => jobsOfDeadNodes(this.db, this.node, this.leaseSeconds);
  takeOverDeadNodes = (maxInterruptions: number, canSend: (job: Job) => boolean, sends: boolean): Promise<Takeover> =>
    takeOverDeadNodes(this.db, this.node, this.leaseSeconds, maxInterruptions, canSend, sends);
  recoverOrphans = (running: number[], quietMs: number, canSend: (job: Job) => Promise<boolean>): Promise<Takeover> =>
    recoverOrphans(this.db, this.node, running, quietMs, canSend);

  async advertise(opsAddress: string): Promise<void> {
    await this.db.run('UPDATE nodes SET ops_address = $1 WHERE name = $2', [opsAddress, this.node]);
  }

  async leave(): Promise<void> {
    await this.db.run("UPDATE jobs SET owner = NULL WHERE owner = $1 AND state = 'sending'", [this.node]);
  }

  async lostJobs(running: number[]): Promise<number[]> {
    const rows = await this.db.rows<{ id: number }>(
      "SELECT id FROM jobs WHERE id = ANY($1::bigint[]) AND ((owner IS NOT NULL AND owner <> $2) OR state NOT IN ('processing', 'sending'))",
      [running, this.node],
    );
    return rows.map((r) => r.id);
  }

  noteDelivery = (jobId: number, association: number): Promise<void> => noteDelivery(this.db, this.node, jobId, association);
  endDelivery = (association: number): Promise<void> => endDelivery(this.db, this.node, association);
  completeIdle = (idleBefore: Date): Promise<Job[]> => completeIdleSeries(this.db, idleBefore, this.node, this.leaseSeconds);

  async hasInstance(seriesInstanceUid: string, sopInstanceUid: string): Promise<boolean> {
    return !!(await this.db.row('SELECT 1 FROM instances WHERE series_instance_uid = $1 AND sop_instance_uid = $2', [seriesInstanceUid, sopInstanceUid]));
  }

  async seriesInstances(seriesInstanceUid: string): Promise<Set<string>> {
    const rows = await this.db.rows<{ uid: string }>('SELECT sop_instance_uid AS uid FROM instances WHERE series_instance_uid = $1', [seriesInstanceUid]);
    return new Set(rows.map((r) => r.uid));
  }

  async forgetSeriesInstances(seriesInstanceUid: string): Promise<void> {
    await this.db.run('DELETE FROM instances WHERE series_instance_uid = $1', [seriesInstanceUid]);
  }

  async latestJobOfSeries(seriesInstanceUid: string): Promise<Job | undefined> {
    return (await jobsWhere(this.db, 'series_instance_uid = $1', [seriesInstanceUid], 'ORDER BY id DESC LIMIT 1'))[0];
  }

  async studyOfSeries(seriesInstanceUid: string): Promise<string | undefined> {
    return (await this.latestJobOfSeries(seriesInstanceUid))?.studyInstanceUid;
  }

  async restrictDestination(seriesInstanceUid: string, destination: string): Promise<void> {
    await this.db.run(
      'INSERT INTO series_destination (series_instance_uid, destination) VALUES ($1, $2) ON CONFLICT (series_instance_uid) DO UPDATE SET destination = excluded.destination',
      [seriesInstanceUid, destination],
    );
  }

  async destinationOf(seriesInstanceUid: string): Promise<string | undefined> {
    return (await this.db.row<{ destination: string }>('SELECT destination FROM series_destination WHERE series_instance_uid = $1', [seriesInstanceUid]))?.destination;
  }

  async callingAes(): Promise<string[]> {
    return (await this.db.rows<{ ae: string }>('SELECT DISTINCT calling_ae COLLATE "C" AS ae FROM jobs WHERE calling_ae IS NOT NULL ORDER BY 1')).map((r) => r.ae);
  }

  async undescribed(limit = 50): Promise<Job[]> {
    return jobsWhere(this.db, 'patient_name IS NULL', [boundedLimit(limit, 50, MAX_LIST_LIMIT)], 'ORDER BY id DESC LIMIT $1');
  }

  async describe(id: number, ident: JobIdentification): Promise<void> {
    const { patientName, patientId, accessionNumber, studyDescription, studyDate, seriesNumber } = ident;
    await this.db.run(
      'UPDATE jobs SET patient_name = $1, patient_id = $2, accession_number = $3, study_description = $4, study_date = $5, series_number = $6 WHERE id = $7',
      [patientName, patientId, accessionNumber, studyDescription, studyDate, seriesNumber, id],
    );
  }

  async setReview(id: number, review: string | null): Promise<void> {
    await this.db.run('UPDATE jobs SET review = $1 WHERE id = $2', [review, id]);
  }

  async reviewCounts(): Promise<{ flagged: number; held: number }> {
    return (await this.db.row<{ flagged: number; held: number }>('SELECT count(review) AS flagged, count(held_for) AS held FROM jobs'))!;
  }

  async probeWrite(): Promise<void> {
    await this.db.run('INSERT INTO write_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at', [now()]);
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.end();
  }
}
