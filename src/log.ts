import fs from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import winston from 'winston';
import type { DicomContext } from './dicom/errors.js';

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

/**
 * Opens the log file again under its name (after logrotate or an operator moved it away; SIGHUP asks for this).
 * Size rotation is left to logrotate: winston's own loses the lines of a burst while it switches files.
 */
export function reopenLogFile(): void {
  if (!root) return;
  for (const transport of root.transports) {
    if (!(transport instanceof winston.transports.File)) continue;
    const filename = path.join(transport.dirname, transport.filename);
    root.remove(transport);
    root.add(new winston.transports.File({ filename }));
    transport.close?.();
  }
}

/** A logger for one module; `context` is merged into every line it writes. */
export function logger(component: string, context: DicomContext = {}): winston.Logger {
  if (!root) configureLogging({ level: 'info', stream: 'stderr' });
  return root!.child({ component, ...context });
}

/** The loglevel logger API through which dcmjs, dcmjs-codecs and dcmjs-dimse write their own messages. */
export interface LibraryLog {
  methodFactory: (methodName: string, level: number, loggerName: string | symbol | undefined) => (...message: unknown[]) => void;
  setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent', persist?: boolean): void;
  getLoggers?(): Record<string, LibraryLog>;
  rebuild?(): void;
}

/** loglevel's methods → winston's levels (loglevel's trace is finer than anything the node logs). */
const LIBRARY_LEVELS: Record<string, string> = { trace: 'silly', debug: 'debug', info: 'info', warn: 'warn', error: 'error' };

/**
 * Makes a library's loglevel logger (and the child loggers it made) write into the node's log: one JSON line per
 * message, with the library as its component and the level it logged at, instead of the plain text lines its
 * default writes to the console. Messages below `level` are dropped at the source.
 */
export function captureLibraryLog(library: string, log: LibraryLog, level: 'debug' | 'info' | 'warn' | 'error'): void {
  const factory: LibraryLog['methodFactory'] = (methodName, _level, loggerName) => {
    const target = LIBRARY_LEVELS[methodName] ?? 'info';
    const component = typeof loggerName === 'string' ? `${library}/${loggerName}` : library;
    return (...message) => logger(component).log(target, format(...message));
  };
  for (const each of [log, ...Object.values(log.getLoggers?.() ?? {})]) each.methodFactory = factory;
  log.setLevel(level, false);
  // Rebuilding the root rebuilds its child loggers' methods through the new factory too.
  log.rebuild?.();
}
