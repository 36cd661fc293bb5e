// The contract between the runner (which schedules jobs) and the processing (what a job computes and sends).
import type { Logger } from '../../log.js';
import type { Job, ProcessingStep } from '../state/job.js';

export interface JobContext {
  job: Job;
  /** The spooled Part 10 files of the series, exactly as received. */
  instancePaths: string[];
  /** A folder of its own where the processor may write intermediate and result files. */
  workDir: string;
  /**
   * The processing moved on to `step`: a stage of the job's timeline and of the stage metrics. `detail` says it in
   * words for people only; no figure depends on its wording.
   */
  step(step: ProcessingStep, detail: string): void;
  /** What the job does now within its stage, in words for people (a sending attempt); no stage changes. */
  progress(detail: string): void;
  /** Records the quality check's verdict of the results on the job: the reasons it was flagged for review, or null. */
  recordReview?(review: string | null): Promise<void>;
  /** When set, results go to this destination (AE@host:port) only, not to every configured one. */
  onlyDestination?: string;
  /** Resolves when the operator allows sending (at once unless sending is paused); rejects when aborted. */
  whenSendingAllowed?(): Promise<void>;
  log: Logger;
  /** Aborted when the node shuts down; the job is then queued again at the next start. */
  signal?: AbortSignal;
}

/**
 * What the node does with a job, in two stages, each run by its own queue: computing holds one of
 * `jobs.concurrency` slots until the results are durably in the job's folder; sending then holds one of
 * `results.sendConcurrency` slots, so an archive that is down holds up no computation.
 */
export interface SeriesProcessor {
  /** Computes the results (or finds them on disk) and resolves once they are durably kept; throwing fails the job. */
  compute(ctx: JobContext): Promise<void>;
  /** Sends the results on disk to the archives; throws ResultsMissingError when there are none. */
  send(ctx: JobContext): Promise<void>;
  /** Whether the job's results are complete on disk, computed from these instances by the configured model. */
  hasResults(ctx: Pick<JobContext, 'job' | 'instancePaths' | 'workDir'>): boolean;
}

/**
 * The results were flagged for review and some destinations take flagged results only once a person released them:
 * the others have them; these wait (the job stays sending, held, and takes no send slot).
 */
export class HeldForReviewError extends Error {
  constructor(readonly destinations: string[]) {
    super(`flagged for review: held for ${destinations.join(', ')} until a person releases it`);
    this.name = 'HeldForReviewError';
  }
}

/** Sending found no results on disk (removed, or computed from other instances): the job must be computed again. */
export class ResultsMissingError extends Error {}
