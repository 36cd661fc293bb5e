// The job: one received series on its way through the node, as the job store keeps it.

export const JOB_STATES = ['receiving', 'complete', 'queued', 'processing', 'sending', 'done', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** The steps of the processing, as the processing names them when it moves on (never read from the detail text). */
export const PROCESSING_STEPS = ['reading', 'extraction', 'registration', 'segmentation', 'building'] as const;
export type ProcessingStep = (typeof PROCESSING_STEPS)[number];

/**
 * The stages a job passes, in order: the job page, GET /api/jobs/:id and the brainstrip_job_stage_seconds
 * histogram name and measure them the same way. `processing` is a processing stretch before its first step.
 */
export const STAGES = ['receiving', 'waiting', 'processing', ...PROCESSING_STEPS, 'sending', 'held'] as const;
export type Stage = (typeof STAGES)[number];

export interface Job {
  id: number;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** Calling AE title that delivered the first instance. */
  callingAe: string | null;
  modality: string | null;
  seriesDescription: string | null;
  sopClassUid: string | null;
  state: JobState;
  /** The stage the job is in (null once it ended: done, failed). */
  stage: Stage | null;
  /** What the job is doing now, in words (e.g. "registering to atlas", "sending SEG to ARCHIVE"). */
  detail: string | null;
  /** Why the job failed (the processor's error message), null otherwise. */
  reason: string | null;
  /** Distinct instances received for this job. */
  instances: number;
  bytes: number;
  /** Times processing started (more than 1 after a restart interrupted it). */
  attempts: number;
  createdAt: string;
  updatedAt: string;
  lastInstanceAt: string | null;
  finishedAt: string | null;
  /** Identification read from the first instance (decoded with its character set); null until read. */
  patientName?: string | null;
  patientId?: string | null;
  accessionNumber?: string | null;
  studyDescription?: string | null;
  /** DICOM DA (YYYYMMDD). */
  studyDate?: string | null;
  seriesNumber?: string | null;
  /** Why the brain mask was flagged for review (the quality check's reasons); null when it was not. */
  review?: string | null;
  /** Destinations (AE@host:port, comma-separated) whose delivery waits for a person to release the flagged result. */
  heldFor?: string | null;
  /** Who released the flagged result for sending, and when ("name at time"). */
  releasedBy?: string | null;
  /**
   * The node of a cluster that holds the job now (computing or sending it); null while it waits for any node.
   * A single node does not keep it.
   */
  owner?: string | null;
}
