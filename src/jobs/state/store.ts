// The job store: what the node keeps about jobs, as one narrow interface. The SQLite store (./sqlite) implements it;
// a store on another database implements the same methods. Every method answers a promise, so that a store on a
// database that is reached asynchronously (a server) can implement it; a decision that reads and then writes (claim
// the next job, record an instance into its series' job, complete a series) is one method, atomic in the store, so
// that callers interleaving at awaits cannot split it. A job's state changes only by the named transitions of
// ./transitions.ts, which the store refuses when the job's state does not allow them; each change is an event.
import type { Job, JobState, Stage } from './job.js';
import type { TransitionChange, TransitionName } from './transitions.js';

export interface ReceivedInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid?: string;
  modality?: string;
  seriesDescription?: string;
  callingAe?: string;
  bytes: number;
}

export interface RecordedInstance {
  job: Job;
  created: boolean;
  reopened: boolean;
  /** The job that was computing the series without this instance, stopped as superseded by `job`. */
  superseded?: Job;
  /**
   * The series' job started already and `job` is that job, unchanged: `again`, it has the instance (sent again);
   * `new`, it has results without it (the instance is kept in the spool and noted, not processed).
   */
  late?: 'again' | 'new';
}

/** One change of a job's state, stage or detail. */
export interface JobEvent {
  at: string;
  state: JobState;
  /** The stage the job entered (null: it ended). */
  stage: Stage | null;
  detail: string | null;
  reason: string | null;
  /** The node of a cluster that made the change (absent on a single node). */
  node?: string;
}

export interface JobFilter {
  state?: JobState;
  /** ISO times: jobs created in [from, to). */
  from?: string;
  to?: string;
  callingAe?: string;
  /** Part of a patient ID, patient name, accession number or series description (case-insensitive). */
  text?: string;
  /** flagged: the brain mask was flagged for review; held: its results wait for a person to release them. */
  review?: 'flagged' | 'held';
  limit?: number;
}

export interface JobIdentification {
  patientName: string;
  patientId: string;
  accessionNumber: string;
  studyDescription: string;
  studyDate: string;
  seriesNumber: string;
}

/** Every list is capped whatever a caller passes. */
export const MAX_LIST_LIMIT = 10_000;

export interface JobStore {
  // The queue: jobs and their states.
  get(id: number): Promise<Job | undefined>;
  /** Most recent first. */
  list(options?: { state?: JobState; seriesInstanceUid?: string; limit?: number }): Promise<Job[]>;
  countsByState(): Promise<Record<JobState, number>>;
  /** receiving → complete → queued (transitions complete, enqueue), when the series has been idle long enough. */
  markComplete(id: number): Promise<Job | undefined>;
  /** Takes the oldest queued job and marks it `processing` (transition claim: one more attempt). */
  claimNext(): Promise<Job | undefined>;
  /** The oldest job waiting in `sending` that is not among `busy` (those being computed or sent now); state unchanged. */
  nextToSend(busy: number[]): Promise<Job | undefined>;
  /**
   * Moves the job by the named transition, recording `change` (the detail replaces the last one; a failure's
   * reason). False, and nothing changes, when the job's state does not allow that transition.
   */
  transition(id: number, name: TransitionName, change?: TransitionChange): Promise<boolean>;
  /**
   * After a restart: jobs that were sending and whose results are still on disk (`canSend`) go on sending; other jobs
   * that were being processed or sent start again from the queue; complete jobs are queued. Returns the jobs still
   * receiving, whose idle timers must be re-armed.
   */
  recoverAfterRestart(maxInterruptions?: number, canSend?: (job: Job) => boolean): Promise<{ requeued: Job[]; resending: Job[]; receiving: Job[]; poisoned: Job[] }>;
  /** The job's changes of state, stage and detail, oldest first. */
  events(id: number): Promise<JobEvent[]>;

  // The instance registry: which instances of a series were received, and the job they belong to.
  hasInstance(seriesInstanceUid: string, sopInstanceUid: string): Promise<boolean>;
  /** The SOP Instance UIDs of a series in the registry (one question for a whole series folder). */
  seriesInstances(seriesInstanceUid: string): Promise<Set<string>>;
  /**
   * Records a spooled instance and returns the job it belongs to: the series' open job (re-opened to `receiving`
   * if it was already complete or queued); a new job when the series has none, its last one failed, or its last one
   * is still computing without this instance (that one fails as `superseded` in the same step, so it never sends);
   * or the started job unchanged (`late`): when it has this instance already, or has results (then with a note).
   * No second derived series is made.
   */
  recordInstance(instance: ReceivedInstance): Promise<RecordedInstance>;
  /** Records an instance as part of a finished job without re-opening it (its row was lost when the job ran). */
  recordProcessedInstance(jobId: number, instance: ReceivedInstance): Promise<void>;
  /** Forgets the instances of a series whose spool folder was removed (a later resend counts afresh). */
  forgetSeriesInstances(seriesInstanceUid: string): Promise<void>;
  /** The study the series' jobs belong to (from its latest job), if the series is known. */
  studyOfSeries(seriesInstanceUid: string): Promise<string | undefined>;
  /** The latest job of a series, if any. */
  latestJobOfSeries(seriesInstanceUid: string): Promise<Job | undefined>;
  /** Delivered jobs that finished before `before` are removed with their timeline (retention); returns them. */
  purgeDeliveredBefore(before: Date): Promise<Job[]>;
  /** Finished jobs whose series has no newer job, finished before `before`, oldest first (their spool can be removed). */
  finishedBefore(before: Date): Promise<Job[]>;

  // Destinations.
  /** Results of `seriesInstanceUid` go to `destination` (AE@host:port) only; recorded before the series arrives. */
  restrictDestination(seriesInstanceUid: string, destination: string): Promise<void>;
  /** The only destination of a series' results, if it has one. */
  destinationOf(seriesInstanceUid: string): Promise<string | undefined>;

  // Search and activity (the operations page).
  /** Most recent first. */
  search(filter: JobFilter): Promise<Job[]>;
  /** Calling AE titles seen, for a filter's choices. */
  callingAes(): Promise<string[]>;
  /** Jobs whose patient and study identification has not been read yet. */
  undescribed(limit?: number): Promise<Job[]>;
  describe(id: number, ident: JobIdentification): Promise<void>;
  /** Records the quality check's verdict of a job's results: the reasons it was flagged for review, or null. */
  setReview(id: number, review: string | null): Promise<void>;
  /** Jobs flagged for review, and those whose results are held for a person to release. */
  reviewCounts(): Promise<{ flagged: number; held: number }>;
  /** Series received, processed and failed since `since`, and the turnaround (first instance to done) of those done. */
  activity(since: Date): Promise<{ received: number; done: number; failed: number; turnaroundSeconds: number[] }>;

  // The store itself.
  /** Whether the store can commit a write now; rejects with the database's message when it cannot. */
  probeWrite(): Promise<void>;
  close(): Promise<void>;
}
