// The job's states change only by these named transitions, each allowed from the states listed: the store refuses
// any other change, so that no code path can move a job where it cannot be (a finished job back to processing, a
// running job cancelled as if it waited).
import type { JobState, Stage } from './job.js';

export const TRANSITIONS = {
  /** A late instance re-opens a series that was complete or queued. */
  reopen: { from: ['complete', 'queued'], to: 'receiving' },
  /** The series was idle long enough. */
  complete: { from: ['receiving'], to: 'complete' },
  enqueue: { from: ['complete'], to: 'queued' },
  /** A compute slot takes the job. */
  claim: { from: ['queued'], to: 'processing' },
  /** The processing moved on to a step, or says what it does now. */
  step: { from: ['processing'], to: 'processing' },
  /** The results are durably on disk; the job waits for a send slot. */
  resultsReady: { from: ['processing'], to: 'sending' },
  /** What sending does now (an attempt, a pause, a restart that resumes it). */
  sendProgress: { from: ['sending'], to: 'sending' },
  /** A flagged result waits for a person before it goes to a destination that holds flagged results. */
  hold: { from: ['sending'], to: 'sending' },
  /** A person released the held result: it is sent. */
  release: { from: ['sending'], to: 'sending' },
  /** Every destination confirmed every object. */
  delivered: { from: ['sending'], to: 'done' },
  /** The computation or the sending failed, or an operator stopped it. */
  fail: { from: ['processing', 'sending'], to: 'failed' },
  /** An operator cancelled a job that was not running. */
  cancel: { from: ['receiving', 'complete', 'queued', 'sending'], to: 'failed' },
  /** Interrupted (shutdown, restart, an operator's restart) or its results are gone: computed again. */
  requeue: { from: ['processing', 'sending'], to: 'queued' },
  /** A finished job runs again from where it stopped. */
  retry: { from: ['done', 'failed'], to: 'queued' },
  /** A finished job whose results are on disk sends them again. */
  resend: { from: ['done', 'failed'], to: 'sending' },
} as const satisfies Record<string, { from: readonly JobState[]; to: JobState }>;

export type TransitionName = keyof typeof TRANSITIONS;

/** What a transition records besides the state: the detail for people, the reason of a failure, the step. */
export interface TransitionChange {
  detail?: string | null;
  reason?: string | null;
  /** The stage the job is in afterwards; absent: the state's own stage (see stageOfState). */
  stage?: Stage;
  /** hold: the destinations that wait; release: who released it (the other transitions leave both as they are). */
  heldFor?: string;
  releasedBy?: string;
}

export function isAllowed(name: TransitionName, from: JobState): boolean {
  return (TRANSITIONS[name].from as readonly JobState[]).includes(from);
}

/** The stage of a job that entered `state` without naming one; null for an end (done, failed). */
export function stageOfState(state: JobState): Stage | null {
  switch (state) {
    case 'receiving':
    case 'complete':
      return 'receiving';
    case 'queued':
      return 'waiting';
    case 'processing':
      return 'processing';
    case 'sending':
      return 'sending';
    default:
      return null;
  }
}
