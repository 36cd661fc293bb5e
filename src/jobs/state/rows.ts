// What the job stores share whatever database holds the rows: a job's row and the job it holds, the UPDATE of a
// transition, and the decisions of recordInstance and recoverAfterRestart. Each store runs them in its own SQL and
// transactions (./sqlite, ./postgres), so that both decide the same way.
import type { Job, JobState } from './job.js';
import { TRANSITIONS, type TransitionChange, type TransitionName, stageOfState } from './transitions.js';

/** A column name for a field name: seriesInstanceUid → series_instance_uid. */
type Column<F extends string> = F extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Column<T>}` : F;

/** A row of the jobs table: one column per field of Job, named in snake case. */
export type JobRow = { [F in keyof Job as Column<F & string>]-?: Job[F] };

/** The job a row holds: its columns under their field names (every column has its field, every field its column). */
export function toJob(row: JobRow): Job {
  return Object.fromEntries(Object.entries(row).map(([column, value]) => [column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), value])) as unknown as Job;
}

export const now = () => new Date().toISOString();

/** Every list is capped whatever a caller passes (SQLite reads a negative LIMIT as "no limit"). */
export function boundedLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(max, Math.max(1, Math.floor(limit)));
}

/**
 * The UPDATE that moves job `id` by transition `name`: the state is checked in its WHERE clause, so that a concurrent
 * change cannot slip between the check and the write; no row changed means the transition was refused.
 * `placeholder(n)` is the database's marker of the n-th argument (SQLite `?`, PostgreSQL `$n`).
 */
export function transitionUpdate(
  id: number,
  name: TransitionName,
  change: TransitionChange,
  placeholder: (n: number) => string,
  owner?: OwnerChange,
): { sql: string; args: unknown[] } {
  const { from, to } = TRANSITIONS[name];
  const t = now();
  const ended = to === 'done' || to === 'failed';
  const args: unknown[] = [];
  const arg = (value: unknown) => (args.push(value), placeholder(args.length));
  const sets = [`state = ${arg(to)}`, `stage = ${arg(change.stage ?? stageOfState(to))}`, `detail = ${arg(change.detail ?? null)}`, `reason = ${arg(change.reason ?? null)}`];
  sets.push(`updated_at = ${arg(t)}`, `finished_at = ${arg(ended ? t : null)}`);
  if (name === 'claim') sets.push('attempts = attempts + 1');
  // A hold names the destinations that wait; a release (or a retry or re-send, which start over) clears them.
  if (name === 'hold') sets.push(`held_for = ${arg(change.heldFor ?? '')}`);
  if (name === 'release' || name === 'retry' || name === 'resend') sets.push('held_for = NULL');
  if (name === 'release') sets.push(`released_by = ${arg(change.releasedBy ?? '')}`);
  if (owner && owner.set !== undefined) sets.push(`owner = ${arg(owner.set)}`);
  let where = `id = ${arg(id)} AND state IN (${from.map((state) => arg(state)).join(', ')})`;
  if (owner?.fence !== undefined) where += ` AND (owner IS NULL OR owner = ${arg(owner.fence)})`;
  return { sql: `UPDATE jobs SET ${sets.join(', ')} WHERE ${where}`, args };
}

/** What a transition does to the job's owner, in a store that keeps owners (a cluster's). */
export interface OwnerChange {
  /** The owner afterwards (null: none); undefined: unchanged. */
  set?: string | null;
  /** Refused unless the job has no owner or this one: a node that lost the job (taken over) cannot move it any more. */
  fence?: string;
}

/**
 * The owner a transition leaves: the claiming node holds the job it computes; a job that waits (queued, results
 * ready, held, released) or ended has none, so that any node with the role may take it.
 */
export function ownerAfter(name: TransitionName, node: string): string | null | undefined {
  if (name === 'claim') return node;
  const to: JobState = TRANSITIONS[name].to;
  if (to === 'queued' || to === 'done' || to === 'failed' || name === 'resultsReady' || name === 'hold' || name === 'release' || name === 'resend') return null;
  return undefined;
}

/** States in which a series is still gathering instances or waiting to run: a late instance joins that job. */
export const OPEN_STATES: readonly JobState[] = ['receiving', 'complete', 'queued'];

/** States in which a job computes or has computed the series: an instance sent again changes nothing. */
export const STARTED_STATES: readonly JobState[] = ['processing', 'sending', 'done'];

/**
 * What an instance of a series does to the series' latest job: `again` when the job started and has the instance
 * already (`known`: it is in the registry); `late` when its results exist or are being stored (another job would put
 * a second derived series in the archive); `join` while the job is open; `new` otherwise (no job, a failed one, or
 * one still computing without this instance, which is superseded).
 */
export function instanceDecision(latest: Job | undefined, known: boolean): 'again' | 'late' | 'join' | 'new' {
  if (latest && known && STARTED_STATES.includes(latest.state)) return 'again';
  if (latest && (latest.state === 'sending' || latest.state === 'done')) return 'late';
  if (latest && OPEN_STATES.includes(latest.state)) return 'join';
  return 'new';
}

export const REOPEN_DETAIL = 'a late instance re-opened the series';
export const SUPERSEDED_REASON = 'superseded: a late instance of the series arrived while it was computed; a new job computes the whole series';

/** The detail of a job made for a series that had one before. */
export function receivedAgainDetail(latest: Job | undefined): string | null {
  return latest ? `series received again after job ${latest.id} (${latest.state})` : null;
}

/** The note a job gets when `late` more instances of its series arrived after it started sending. */
export function lateNote(job: Job, late: number): string {
  const when = job.state === 'done' ? 'after its results were stored' : 'while its results are being sent';
  return `${late} instance${late === 1 ? '' : 's'} arrived ${when}: kept in the spool, not processed (retry the job to compute the whole series again)`;
}

export interface RecoveryStep {
  job: Job;
  name: TransitionName;
  change?: TransitionChange;
  outcome: 'resending' | 'poisoned' | 'requeued';
}

/**
 * After a restart, what becomes of each job that was complete, processing or sending (oldest first): those sending
 * whose results are on disk (`canSend`) go on sending; a job the node died processing again and again, which is what
 * killed it, fails rather than crash-looping; the others are queued again.
 */
export function recoverySteps(unfinished: readonly Job[], maxInterruptions: number, canSend: (job: Job) => boolean, cause = (_job: Job) => 'a restart'): RecoveryStep[] {
  const resending = unfinished.filter((job) => job.state === 'sending' && canSend(job));
  const others = unfinished.filter((job) => !resending.includes(job));
  const isPoison = (job: Job) => maxInterruptions > 0 && job.state === 'processing' && job.attempts >= maxInterruptions;
  return [
    ...resending.map((job): RecoveryStep => ({ job, name: 'sendProgress', change: { detail: `interrupted while sending by ${cause(job)}; sends again` }, outcome: 'resending' })),
    ...others.filter(isPoison).map(
      (job): RecoveryStep => ({
        job,
        name: 'fail',
        change: { reason: `processing was cut short by ${job.attempts} restarts of the node; not retried automatically (poison job)` },
        outcome: 'poisoned',
      }),
    ),
    ...others
      .filter((job) => !isPoison(job))
      .map((job): RecoveryStep =>
        job.state === 'complete'
          ? { job, name: 'enqueue', outcome: 'requeued' }
          : { job, name: 'requeue', change: { detail: `interrupted while ${job.state} by ${cause(job)}; queued again` }, outcome: 'requeued' },
      ),
  ];
}

/** The jobs of each outcome, as they are after their step (`after[n]` is the job of `steps[n]` afterwards). */
export function recoveryOutcome(steps: readonly RecoveryStep[], after: readonly Job[]): { requeued: Job[]; resending: Job[]; poisoned: Job[] } {
  const of = (outcome: RecoveryStep['outcome']) => after.filter((_, n) => steps[n].outcome === outcome);
  return { requeued: of('requeued'), resending: of('resending'), poisoned: of('poisoned') };
}
