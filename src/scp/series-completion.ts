// Series completion: a sender never says a series is complete. A series is complete when no instance of it has
// arrived for the idle time and no open association has delivered part of it; its job then goes to the queue.
import type { Job } from '../jobs/state/job.js';
import type { JobStore } from '../jobs/state/store.js';
import { logger } from '../log.js';

interface Pending {
  jobId: number;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  lastArrival: number;
  /** Associations that delivered instances of this series and are still open. */
  delivering: Set<number>;
}

export class SeriesCompletion {
  private readonly pending = new Map<number, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private readonly log = logger('scp.completion');

  constructor(
    private readonly store: JobStore,
    private readonly idleMs: number,
    private readonly onQueued: (job: Job) => void,
  ) {}

  start(): void {
    const period = Math.max(50, Math.min(1000, this.idleMs / 4));
    this.timer = setInterval(() => void this.check(), period);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Series still gathering instances. */
  get receiving(): number {
    return this.pending.size;
  }

  /** `associationId`: the open association that delivered it; undefined when it has already ended. */
  instanceArrived(job: Job, associationId: number | undefined): void {
    const entry = this.track(job);
    entry.lastArrival = Date.now();
    if (associationId !== undefined) entry.delivering.add(associationId);
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
        delivering: new Set(),
      };
      this.pending.set(job.id, entry);
    }
    return entry;
  }

  /** An association was released, aborted or dropped: it no longer holds its series open. */
  associationEnded(associationId: number): void {
    for (const entry of this.pending.values()) entry.delivering.delete(associationId);
    void this.check();
  }

  /**
   * Queues the jobs of the series idle long enough. An entry leaves `pending` before the store is asked, so that a
   * check running meanwhile does not queue it twice; whether the job is still receiving is decided by markComplete
   * alone (an instance recorded meanwhile either joined the job before it or re-opens it after).
   */
  async check(now = Date.now()): Promise<void> {
    for (const entry of [...this.pending.values()]) {
      if (entry.delivering.size > 0 || now - entry.lastArrival < this.idleMs) continue;
      this.pending.delete(entry.jobId);
      try {
        const job = await this.store.markComplete(entry.jobId);
        if (!job) continue;
        this.log.info('series complete, job queued', {
          jobId: job.id,
          studyInstanceUid: job.studyInstanceUid,
          seriesInstanceUid: job.seriesInstanceUid,
          instances: job.instances,
        });
        this.onQueued(job);
      } catch (error) {
        // The job stays `receiving` in the store; keep watching it so that it is queued once the store answers
        // (unless an instance that arrived meanwhile is watching it already).
        if (!this.pending.has(entry.jobId)) this.pending.set(entry.jobId, { ...entry, lastArrival: now });
        this.log.error(`cannot queue job: ${(error as Error).message}`, {
          jobId: entry.jobId,
          studyInstanceUid: entry.studyInstanceUid,
          seriesInstanceUid: entry.seriesInstanceUid,
        });
      }
    }
  }
}
