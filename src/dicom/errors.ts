// Errors that name the DICOM objects they concern (study, series, instance, frame, file), so that an administrator
// can find the case from the message alone, and code can read the identifiers without parsing it.

/** DICOM identifiers that a log line concerns; an administrator searches the log by these. */
export interface DicomContext {
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  jobId?: string | number;
  callingAe?: string;
}

/** DicomContext with where inside the object a problem was found. */
export interface DicomIdentifiers extends DicomContext {
  /** 1-based frame number inside a multi-frame instance. */
  frame?: number;
  /** File the problem was found in, when there is one. */
  path?: string;
}

/** The identifiers in words, for the end of an error message: ` (series …, instance … frame …, study …, file …)`. */
export function describeDicom(ids: DicomIdentifiers = {}): string {
  const parts: string[] = [];
  if (ids.seriesInstanceUid) parts.push(`series ${ids.seriesInstanceUid}`);
  if (ids.sopInstanceUid) parts.push(`instance ${ids.sopInstanceUid}${ids.frame ? ` frame ${ids.frame}` : ''}`);
  if (ids.studyInstanceUid) parts.push(`study ${ids.studyInstanceUid}`);
  if (ids.path) parts.push(`file ${ids.path}`);
  if (ids.jobId !== undefined && ids.jobId !== '') parts.push(`job ${ids.jobId}`);
  if (ids.callingAe) parts.push(`from ${ids.callingAe}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * An error that knows which DICOM objects it concerns: its message ends with them in words (describeDicom), and
 * `identifiers` keeps them for code (a job's reason names its series without searching the text).
 */
export class DicomError extends Error {
  readonly identifiers: DicomIdentifiers;

  constructor(reason: string, identifiers: DicomIdentifiers = {}, options?: ErrorOptions) {
    super(`${reason}${describeDicom(identifiers)}`, options);
    this.name = 'DicomError';
    this.identifiers = identifiers;
  }

  /** A DicomError whose message already names what it concerns (as one from another thread does). */
  static withMessage(message: string, identifiers: DicomIdentifiers, options?: ErrorOptions): DicomError {
    const error = new DicomError('', {}, options);
    error.message = message;
    (error as { identifiers: DicomIdentifiers }).identifiers = identifiers;
    return error;
  }
}
