// A job's transitions in the order the runner asked for them. The store answers asynchronously, and a computation
// reports its steps without waiting for them to be recorded: without an order per job, a late 'step' could reach
// the store after 'resultsReady' (refused there) or a detail could overwrite a newer one.
import type { Logger } from '../log.js';
import type { Job } from './state/job.js';
import type { JobStore } from './state/store.js';
import type { TransitionChange, TransitionName } from './state/transitions.js';

export class OrderedMoves {
  /** The last move asked for each job, settled or not. */
  private readonly last = new Map<number, Promise<void>>();

  constructor(private readonly store: JobStore) {}

  /**
   * Moves the job by a named transition once its earlier moves are recorded; one its state refuses (an operator got
   * there first) is logged, not forced. Rejects when the store cannot write.
   */
  move(job: Job, name: TransitionName, change: TransitionChange, log: Logger): Promise<void> {
    const apply = async () => {
      if (!(await this.store.transition(job.id, name, change))) log.warn(`job ${job.id}: '${name}' not applied; the job changed meanwhile`);
    };
    // Nothing pending for the job: asked at once, so a store that answers at once has recorded it on return.
    const previous = this.last.get(job.id);
    const next = previous ? previous.then(apply) : apply();
    const settled = next.catch(() => undefined);
    this.last.set(job.id, settled);
    void settled.then(() => {
      if (this.last.get(job.id) === settled) this.last.delete(job.id);
    });
    return next;
  }
}
