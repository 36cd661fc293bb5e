import fs from 'node:fs';
import path from 'node:path';
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

/** A logger for one module; `context` is merged into every line it writes. */
export function logger(component: string, context: DicomContext = {}): winston.Logger {
  if (!root) configureLogging({ level: 'info', stream: 'stderr' });
  return root!.child({ component, ...context });
}
