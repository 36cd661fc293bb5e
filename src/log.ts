import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';

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

export type Logger = winston.Logger;

let root: winston.Logger | undefined;

export interface LogOptions {
  level: string;
  /** Absolute path of a JSON-lines file, or empty for stdout only. */
  file?: string;
  /** Tests and CLI one-shots keep stdout for their own output. */
  stream?: 'stdout' | 'stderr';
}

export function configureLogging(options: LogOptions): winston.Logger {
  const transports: winston.transport[] = [
    new winston.transports.Console({
      stderrLevels: options.stream === 'stderr' ? ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] : ['error'],
    }),
  ];
  if (options.file) {
    fs.mkdirSync(path.dirname(options.file), { recursive: true });
    transports.push(new winston.transports.File({ filename: options.file }));
  }
  root = winston.createLogger({
    level: options.level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports,
  });
  return root;
}

/** A logger for one module; `context` is merged into every line it writes. */
export function logger(component: string, context: DicomContext = {}): winston.Logger {
  if (!root) configureLogging({ level: 'info', stream: 'stderr' });
  return root!.child({ component, ...context });
}
