// The queue on SQLite: jobs, their states and the events that record every change. Every change of state goes
// through transition(), which refuses a change its table does not allow (the state is checked in the UPDATE itself,
// so a concurrent change cannot slip between the check and the write).
import { JOB_STATES, type Job, type JobState } from '../job.js';
import type { JobEvent } from '../store.js';
import { TRANSITIONS, type TransitionChange, type TransitionName, stageOfState } from '../transitions.js';
import { type Db, type JobRow, now, toJob } from './schema.js';

/** Every list is capped whatever a caller passes (SQLite reads a negative LIMIT as "no limit"). */
export function boundedLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(max, Math.max(1, Math.floor(limit)));
}

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
    const { from, to } = TRANSITIONS[name];
    const t = now();
    const ended = to === 'done' || to === 'failed';
    const attempts = name === 'claim' ? ', attempts = attempts + 1' : '';
    // A hold names the destinations that wait; a release (or a retry, which starts over) clears them.
    const held = name === 'hold' ? ', held_for = ?' : name === 'release' || name === 'retry' || name === 'resend' ? ', held_for = NULL' : '';
    const released = name === 'release' ? ', released_by = ?' : '';
    const extra = [...(name === 'hold' ? [change.heldFor ?? ''] : []), ...(name === 'release' ? [change.releasedBy ?? ''] : [])];
    return (
      this.db
        .prepare(
          `UPDATE jobs SET state = ?, stage = ?, detail = ?, reason = ?, updated_at = ?, finished_at = ?${attempts}${held}${released}
           WHERE id = ? AND state IN (${from.map(() => '?').join(', ')})`,
        )
        .run(to, change.stage ?? stageOfState(to), change.detail ?? null, change.reason ?? null, t, ended ? t : null, ...extra, id, ...from).changes > 0
    );
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
      const resending = inState('sending').filter((job) => canSend(job));
      for (const job of resending) this.transition(job.id, 'sendProgress', { detail: 'interrupted while sending by a restart; sends again' });
      const resumed = new Set(resending.map((j) => j.id));
      const interrupted = inState('processing', 'sending', 'complete').filter((job) => !resumed.has(job.id));
      // A job the node died processing, again and again, is what killed it: it fails rather than crash-looping.
      const poisoned = interrupted.filter((job) => maxInterruptions > 0 && job.state === 'processing' && job.attempts >= maxInterruptions);
      for (const job of poisoned) {
        this.transition(job.id, 'fail', { reason: `processing was cut short by ${job.attempts} restarts of the node; not retried automatically (poison job)` });
      }
      const requeued = interrupted.filter((job) => !poisoned.includes(job));
      for (const job of requeued) {
        if (job.state === 'complete') this.transition(job.id, 'enqueue');
        else this.transition(job.id, 'requeue', { detail: `interrupted while ${job.state} by a restart; queued again` });
      }
      const fresh = (jobs: Job[]) => jobs.map((job) => this.get(job.id)!);
      return { requeued: fresh(requeued), resending: fresh(resending), receiving: inState('receiving'), poisoned: fresh(poisoned) };
    })();
  }

  events(id: number): JobEvent[] {
    return this.db.prepare('SELECT at, state, stage, detail, reason FROM job_events WHERE job_id = ? ORDER BY id').all(id) as JobEvent[];
  }
}
