// Series completion: a sender never says a series is complete. A series is complete when no instance of it has
// arrived for the idle time and no open association has delivered part of it; or, sooner, when the association
// that delivered it was released, no other is delivering it, and its spooled instances are provably the whole
// series (src/pipeline/dicom/series-whole.ts) and stay so for a short grace. Its job then goes to the queue.
import type { Job } from '../jobs/state/job.js';
import type { JobStore } from '../jobs/state/store.js';
import { logger } from '../log.js';
import { readCompletenessHeaderFile } from '../pipeline/dicom/completeness-header.js';
import { type WholeSeriesEvidence, wholeSeriesEvidence } from '../pipeline/dicom/series-whole.js';
import type { Spool } from './spool.js';

interface Pending {
  jobId: number;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  lastArrival: number;
  /** Instances recorded for this series; an arrival during the reading of its headers voids what was read. */
  arrivals: number;
  /** Associations that delivered instances of this series and are still open. */
  delivering: Set<number>;
  /** Examines the series for early completion after the grace, unless an instance arrives first. */
  early?: NodeJS.Timeout;
}

export interface CompletionRules {
  /** A series without an instance for this long (and no association delivering it) is complete. */
  idleMs: number;
  /** A provably whole series is complete this long after its delivering association was released; 0: never early. */
  graceMs: number;
  /** Whether the spooled instances of a series are the whole series. */
  wholeSeries?: (studyInstanceUid: string, seriesInstanceUid: string) => Promise<WholeSeriesEvidence>;
  /** In a cluster: instances of a series may arrive at any node, so the idle rule is the cluster's (below). */
  shared?: SharedCompletion;
}

/**
 * The idle rule of a cluster: a series is idle when its last instance, received by any node, is older than the idle
 * time, and no association of a live node is delivering it. The database knows both; this node tells it which of
 * its associations deliver which series.
 */
export interface SharedCompletion {
  delivering(jobId: number, association: number): void;
  ended(association: number): void;
  /** Queues the series idle since `idleBefore`; those jobs. */
  completeIdle(idleBefore: Date): Promise<Job[]>;
}

export class SeriesCompletion {
  private readonly pending = new Map<number, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private readonly log = logger('scp.completion');
  private readonly rules: CompletionRules;
  /** Associations that delivered a series, as the cluster was told. */
  private readonly sharedDeliveries = new Set<number>();
  private sweepFailing = false;

  constructor(
    private readonly store: JobStore,
    rules: CompletionRules | number,
    private readonly onQueued: (job: Job) => void,
  ) {
    this.rules = typeof rules === 'number' ? { idleMs: rules, graceMs: 0 } : rules;
  }

  start(): void {
    const period = Math.max(50, Math.min(1000, this.rules.idleMs / 4));
    this.timer = setInterval(() => void this.check(), period);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const entry of this.pending.values()) clearTimeout(entry.early);
  }

  /** Series still gathering instances. */
  get receiving(): number {
    return this.pending.size;
  }

  /** `associationId`: the open association that delivered it; undefined when it has already ended. */
  instanceArrived(job: Job, associationId: number | undefined): void {
    const entry = this.track(job);
    entry.lastArrival = Date.now();
    entry.arrivals++;
    clearTimeout(entry.early);
    entry.early = undefined;
    if (associationId === undefined) return;
    if (this.rules.shared && !entry.delivering.has(associationId)) {
      this.sharedDeliveries.add(associationId);
      this.rules.shared.delivering(job.id, associationId);
    }
    entry.delivering.add(associationId);
  }

  /** Starts (or restarts) the idle timer of a job that is receiving, e.g. after a restart. */
  track(job: Job): Pending {
    let entry = this.pending.get(job.id);
    if (!entry) {
      entry = {
        jobId: job.id,
        studyInstanceUid: job.studyInstanceUid,
        seriesInstanceUid: job.seriesInstanceUid,
        lastArrival: Date.now(),
        arrivals: 0,
        delivering: new Set(),
      };
      this.pending.set(job.id, entry);
    }
    return entry;
  }

  /**
   * An association was released, aborted or dropped: it no longer holds its series open. Only a release says the
   * sender finished: the series it delivered are then examined for early completion after the grace.
   */
  associationEnded(associationId: number, released = false): void {
    if (this.sharedDeliveries.delete(associationId)) this.rules.shared?.ended(associationId);
    for (const entry of this.pending.values()) {
      if (entry.delivering.delete(associationId) && released && entry.delivering.size === 0) this.examineAfterGrace(entry);
    }
    void this.check();
  }

  /**
   * After the grace, unless an instance arrived meanwhile, reads whether the series is whole and completes it if it
   * is. Reading only once the sender paused keeps a sender that opens one association per instance from having
   * every header read again at each release.
   */
  private examineAfterGrace(entry: Pending): void {
    const { graceMs, wholeSeries } = this.rules;
    if (graceMs <= 0 || !wholeSeries) return;
    const arrivals = entry.arrivals;
    const unchanged = () => this.pending.get(entry.jobId) === entry && entry.arrivals === arrivals && entry.delivering.size === 0;
    clearTimeout(entry.early);
    entry.early = setTimeout(async () => {
      if (!unchanged()) return;
      let evidence: WholeSeriesEvidence;
      try {
        evidence = await wholeSeries(entry.studyInstanceUid, entry.seriesInstanceUid);
      } catch (error) {
        this.log.warn(`cannot tell whether the series is whole, it waits for the idle time: ${(error as Error).message}`, this.ids(entry));
        return;
      }
      if (!unchanged()) return;
      if (evidence.whole) await this.complete(entry, `whole: ${evidence.reason}`);
      else this.log.info(`series not provably whole (${evidence.reason}): it is complete after ${this.rules.idleMs / 1000} s without an instance`, this.ids(entry));
    }, graceMs);
    entry.early.unref();
  }

  async check(now = Date.now()): Promise<void> {
    if (this.rules.shared) await this.sweep(this.rules.shared, now);
    for (const entry of [...this.pending.values()]) {
      if (entry.delivering.size > 0 || now - entry.lastArrival < this.rules.idleMs) continue;
      // In a cluster the sweep decides, from what every node received; this node stops watching the series.
      if (this.rules.shared) this.pending.delete(entry.jobId);
      else await this.complete(entry, `idle for ${Math.round((now - entry.lastArrival) / 1000)} s`, now);
    }
  }

  /** Queues every series of the cluster that is idle; a database that does not answer is logged once until it does. */
  private async sweep(shared: SharedCompletion, now: number): Promise<void> {
    let queued: Job[];
    try {
      queued = await shared.completeIdle(new Date(now - this.rules.idleMs));
    } catch (error) {
      if (!this.sweepFailing) this.log.error(`cannot look for complete series (retried): ${(error as Error).message}`);
      this.sweepFailing = true;
      return;
    }
    this.sweepFailing = false;
    for (const job of queued) {
      const entry = this.pending.get(job.id);
      if (entry) clearTimeout(entry.early);
      this.pending.delete(job.id);
      this.log.info('series complete (idle in the cluster), job queued', { jobId: job.id, studyInstanceUid: job.studyInstanceUid, seriesInstanceUid: job.seriesInstanceUid, instances: job.instances, rule: 'idle' });
      this.onQueued(job);
    }
  }

  /**
   * Queues the job of a complete series. The entry leaves `pending` before the store is asked, so that a check
   * running meanwhile does not queue it twice; whether the job is still receiving is decided by markComplete alone.
   */
  private async complete(entry: Pending, rule: string, now = Date.now()): Promise<void> {
    if (this.pending.get(entry.jobId) !== entry) return;
    this.pending.delete(entry.jobId);
    clearTimeout(entry.early);
    try {
      const job = await this.store.markComplete(entry.jobId);
      if (!job) return;
      this.log.info(`series complete (${rule}), job queued`, { ...this.ids(entry), instances: job.instances, rule });
      this.onQueued(job);
    } catch (error) {
      // The job stays `receiving` in the store; keep watching it so that it is queued once the store answers
      // (unless an instance that arrived meanwhile is watching it already).
      if (!this.pending.has(entry.jobId)) this.pending.set(entry.jobId, { ...entry, early: undefined, lastArrival: now });
      this.log.error(`cannot queue job: ${(error as Error).message}`, this.ids(entry));
    }
  }

  private ids(entry: Pending) {
    return { jobId: entry.jobId, studyInstanceUid: entry.studyInstanceUid, seriesInstanceUid: entry.seriesInstanceUid };
  }
}

/** Whether the spooled instances of a series are the whole series, read from their headers (pixel data untouched). */
export function spooledSeriesEvidence(spool: Spool): NonNullable<CompletionRules['wholeSeries']> {
  return async (studyInstanceUid, seriesInstanceUid) => {
    const headers = [];
    for (const file of await spool.seriesInstancePaths(studyInstanceUid, seriesInstanceUid)) headers.push(await readCompletenessHeaderFile(file));
    return wholeSeriesEvidence(headers);
  };
}
