// The job: one received series on its way through the node, as the job store keeps it.

export const JOB_STATES = ['receiving', 'complete', 'queued', 'processing', 'sending', 'done', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

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
}
