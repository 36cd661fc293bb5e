// The queue on SQLite: jobs, their states and the events that record every change. Every change of state goes
// through transition(), which refuses a change its table does not allow (the state is checked in the UPDATE itself,
// so a concurrent change cannot slip between the check and the write).
import { JOB_STATES, type Job, type JobState } from '../job.js';
import type { JobEvent } from '../store.js';
import { type JobRow, recoveryOutcome, recoverySteps, toJob, transitionUpdate } from '../rows.js';
import type { TransitionChange, TransitionName } from '../transitions.js';
import type { Db } from './schema.js';

export class SqliteQueue {
  constructor(private readonly db: Db) {}

  get(id: number): Job | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  list(options: { state?: JobState; seriesInstanceUid?: string; limit: number }): Job[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (options.state) where.push('state = ?'), args.push(options.state);
    if (options.seriesInstanceUid) where.push('series_instance_uid = ?'), args.push(options.seriesInstanceUid);
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, options.limit) as JobRow[]).map(toJob);
  }

  countsByState(): Record<JobState, number> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const row of this.db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: JobState; n: number }>) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  transition(id: number, name: TransitionName, change: TransitionChange = {}): boolean {
    const { sql, args } = transitionUpdate(id, name, change, () => '?');
    return this.db.prepare(sql).run(...args).changes > 0;
  }

  markComplete(id: number): Job | undefined {
    return this.db.transaction(() => {
      if (!this.transition(id, 'complete')) return undefined;
      this.transition(id, 'enqueue');
      return this.get(id);
    })();
  }

  claimNext(): Job | undefined {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1").get() as { id: number } | undefined;
      if (!row || !this.transition(row.id, 'claim')) return undefined;
      return this.get(row.id);
    })();
  }

  nextToSend(busy: number[]): Job | undefined {
    const ids = busy.filter(Number.isInteger);
    const row = this.db
      .prepare(`SELECT * FROM jobs WHERE state = 'sending' AND held_for IS NULL${ids.length ? ` AND id NOT IN (${ids.join(', ')})` : ''} ORDER BY id LIMIT 1`)
      .get() as JobRow | undefined;
    return row && toJob(row);
  }

  recoverAfterRestart(maxInterruptions: number, canSend: (job: Job) => boolean): { requeued: Job[]; resending: Job[]; receiving: Job[]; poisoned: Job[] } {
    return this.db.transaction(() => {
      const inState = (...states: JobState[]) =>
        (this.db.prepare(`SELECT * FROM jobs WHERE state IN (${states.map(() => '?').join(', ')}) ORDER BY id`).all(...states) as JobRow[]).map(toJob);
      const steps = recoverySteps(inState('processing', 'sending', 'complete'), maxInterruptions, canSend);
      for (const step of steps) this.transition(step.job.id, step.name, step.change);
      return { ...recoveryOutcome(steps, steps.map((step) => this.get(step.job.id)!)), receiving: inState('receiving') };
    })();
  }

  events(id: number): JobEvent[] {
    return this.db.prepare('SELECT at, state, stage, detail, reason FROM job_events WHERE job_id = ? ORDER BY id').all(id) as JobEvent[];
  }
}
