// The contract between the runner (which schedules jobs) and the processing (what a job computes and sends).
import type { Logger } from '../../log.js';
import type { Job } from '../state/job.js';

export interface JobContext {
  job: Job;
  /** The spooled Part 10 files of the series, exactly as received. */
  instancePaths: string[];
  /** A folder of its own where the processor may write intermediate and result files. */
  workDir: string;
  setState(state: 'processing' | 'sending', detail?: string): void;
  /** When set, results go to this destination (AE@host:port) only, not to every configured one. */
  onlyDestination?: string;
  /** Resolves when the operator allows sending (at once unless sending is paused); rejects when aborted. */
  whenSendingAllowed?(): Promise<void>;
  log: Logger;
  /** Aborted when the node shuts down; the job is then queued again at the next start. */
  signal?: AbortSignal;
}

/** Resolving marks the job `done`; throwing marks it `failed` with the error's message as reason. */
export type SeriesProcessor = (ctx: JobContext) => Promise<void>;

/**
 * A processor in two stages, each run by its own queue: computing holds one of `jobs.concurrency` slots until the
 * results are durably in the job's folder; sending then holds one of `results.sendConcurrency` slots, so an
 * archive that is down holds up no computation.
 */
export interface StagedProcessor {
  /** Computes the results (or finds them on disk) and resolves once they are durably kept; throwing fails the job. */
  compute(ctx: JobContext): Promise<void>;
  /** Sends the results on disk to the archives; throws ResultsMissingError when there are none. */
  send(ctx: JobContext): Promise<void>;
  /** Whether the job's results are complete on disk, computed from these instances by the configured model. */
  hasResults(ctx: Pick<JobContext, 'job' | 'instancePaths' | 'workDir'>): boolean;
}

/** Sending found no results on disk (removed, or computed from other instances): the job must be computed again. */
export class ResultsMissingError extends Error {}
